"""Every text Deskmate shows to a user, in one place, per language."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "internal": "Sorry, something went wrong on my side. Please try again in a moment.",
        "model_unavailable": "I can't answer right now: the language model is unavailable. Please try again later.",
        "stream_interrupted": "(The answer was cut off: the language model stopped responding. Please ask again.)",
        "retrieval_only_header": "_The language model is unavailable, so here are the most relevant passages from the knowledge base:_",
        "retrieval_only_none": "I can't answer right now: the language model is unavailable and nothing in the knowledge base matches your question.",
        "empty_message": "Your message is empty. Please type a question.",
        "message_too_long": "Your message is too long ({length} characters; the limit is {limit}). Please shorten it.",
        "pii_failed": "Sorry, I couldn't safely process your message, so I didn't send it anywhere. Please try again.",
        "unsupported_content": "I can only read text here. Please type your question.",
        "rate_limited": "You're sending messages faster than I can answer. Please try again in {retry_in}.",
        "budget_exhausted": "The daily usage budget is used up. Please try again after {retry_at}.",
        "not_admin": "Sorry, only administrators can change Deskmate's settings.",
        "unknown_command": "Unknown command `{command}`. Try `help`.",
        "no_knowledge": "I couldn't find anything about that in the knowledge base, so I won't guess.",
        "searching_kb": "Searching the knowledge base…",
        "tool_confirm": "Run {tool}?",
        "tool_confirm_create_ticket": "Create ticket: {summary} (priority: {priority})?",
        "tool_confirm_escalate_to_human": "Hand this conversation over to a person? Reason: {reason}",
        "tool_needs_confirmation": "Please confirm below before I go ahead — nothing has been done yet.",
        "tool_running": "Working on it ({tool})…",
        "tool_timeout": "The {tool} tool didn't answer in time, so I stopped waiting. Nothing more will happen.",
        "tool_failed": "Sorry, {tool} didn't work this time. Please try again later.",
        "tool_cancelled": "Cancelled — nothing was done.",
        "tool_expired": "This request has expired or was already handled, so nothing was done. Ask me again if you still need it.",
        "tool_not_yours": "Sorry, only the person who asked for this can confirm or cancel it.",
        "tool_pending_done": "Update on your earlier request: {result}",
        "tool_pending_failed": "Sorry, your earlier request could not be completed. Please try again.",
        "ticket_created": "Done: I created ticket {number} — {summary}. Ask me about {number} any time to check its status.",
        "escalated": "I've passed this conversation to a person on our team; someone will follow up with you here soon.",
    },
    "ru": {
        "internal": "Извините, у меня что-то пошло не так. Попробуйте ещё раз чуть позже.",
        "model_unavailable": "Сейчас я не могу ответить: языковая модель недоступна. Попробуйте позже.",
        "stream_interrupted": "(Ответ оборвался: языковая модель перестала отвечать. Спросите ещё раз.)",
        "retrieval_only_header": "_Языковая модель недоступна, поэтому вот самые подходящие фрагменты базы знаний:_",
        "retrieval_only_none": "Сейчас я не могу ответить: языковая модель недоступна, а в базе знаний ничего не нашлось.",
        "empty_message": "Сообщение пустое. Напишите, пожалуйста, вопрос.",
        "message_too_long": "Сообщение слишком длинное ({length} символов, предел {limit}). Сократите его, пожалуйста.",
        "pii_failed": "Извините, я не смог безопасно обработать сообщение и никуда его не отправил. Попробуйте ещё раз.",
        "unsupported_content": "Здесь я умею читать только текст. Напишите вопрос, пожалуйста.",
        "rate_limited": "Вы пишете быстрее, чем я успеваю отвечать. Попробуйте снова через {retry_in}.",
        "budget_exhausted": "Дневной лимит использования исчерпан. Попробуйте после {retry_at}.",
        "not_admin": "Извините, менять настройки Deskmate могут только администраторы.",
        "unknown_command": "Неизвестная команда `{command}`. Попробуйте `help`.",
        "no_knowledge": "В базе знаний ничего об этом нет, поэтому гадать не буду.",
        "searching_kb": "Ищу в базе знаний…",
        "tool_confirm": "Выполнить {tool}?",
        "tool_confirm_create_ticket": "Создать заявку: {summary} (приоритет: {priority})?",
        "tool_confirm_escalate_to_human": "Передать разговор сотруднику? Причина: {reason}",
        "tool_needs_confirmation": "Подтвердите, пожалуйста, ниже — пока ничего не сделано.",
        "tool_running": "Выполняю ({tool})…",
        "tool_timeout": "Инструмент {tool} не ответил вовремя, я перестал ждать. Больше ничего не произойдёт.",
        "tool_failed": "Извините, {tool} сейчас не сработал. Попробуйте позже.",
        "tool_cancelled": "Отменено — ничего не сделано.",
        "tool_expired": "Этот запрос устарел или уже обработан, поэтому ничего не сделано. Попросите ещё раз, если нужно.",
        "tool_not_yours": "Извините, подтвердить или отменить это может только тот, кто просил.",
        "tool_pending_done": "Новости по вашему запросу: {result}",
        "tool_pending_failed": "Извините, ваш запрос не удалось выполнить. Попробуйте ещё раз.",
        "ticket_created": "Готово: я создал заявку {number} — {summary}. Спросите меня о {number}, чтобы узнать статус.",
        "escalated": "Я передал разговор сотруднику нашей команды; с вами скоро свяжутся здесь.",
    },
}


def text(key: str, locale: str | None = "en", **params: Any) -> str:
    """The user-facing text `key` in `locale` (falls back to English), formatted with params."""
    lang = (locale or "en").split("-")[0].split("_")[0].lower()
    table = TEXTS.get(lang, TEXTS["en"])
    template = table.get(key) or TEXTS["en"].get(key) or TEXTS["en"]["internal"]
    return template.format(**params) if params else template
