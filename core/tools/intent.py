"""Whether a turn may need a tool, from the user's own words (English and Russian): cheap and deterministic.

Tool schemas are a large part of a prompt (the four built-ins are ~675 tokens, half a helpdesk prompt); a plain
question ("how many vacation days do I get?") needs none of them. A built-in tool is offered only when the message
has one of its words (ticket, escalate, a person, status, a ticket number...), or when the message is a short reply
("yes, please") to an assistant message that had them (the assistant suggested opening a ticket). A tool this
module has no words for (a tool a deployment added) is always offered: we cannot tell when it helps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# Stems, matched at the start of a word (case-insensitive): "ticket" matches "tickets", "заявк" matches "заявку".
TICKET = ("ticket", "tiket", "report a bug", "file a", "open a case", "raise a case", "incident",
          "тикет", "заявк", "обращени", "инцидент")
STATUS = ("status", "update on my", "статус")
HUMAN = ("human", "person", "agent", "operator", "support team", "support staff", "escalat", "talk to",
         "speak to", "call me", "человек", "живой", "живым", "живого", "оператор", "специалист", "эскалир",
         "передай", "соедини", "позови", "поговорить", "свяжите")
SEARCH = ("search the", "search for", "поищи", "поиск по")
TICKET_NUMBER = re.compile(r"(?<![\w-])[A-Za-z]{1,10}-\d{3,}(?![\w-])|#\d{3,}")  # DM-1001, not DM-PRO-200

TOOL_WORDS: dict[str, tuple[str, ...]] = {
    "create_ticket": TICKET,
    "ticket_status": TICKET + STATUS,
    "escalate_to_human": HUMAN,
    "search_knowledge": SEARCH,
}
SHORT_REPLY_WORDS = 6  # "yes please", "да, создай" answer the assistant's last suggestion


def _pattern(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + ")", re.IGNORECASE)


_PATTERNS = {name: _pattern(words) for name, words in TOOL_WORDS.items()}


def _mentions(name: str, text: str) -> bool:
    pattern = _PATTERNS.get(name)
    if pattern is None:
        return True
    if pattern.search(text):
        return True
    return name == "ticket_status" and bool(TICKET_NUMBER.search(text))


def tools_for(text: str, names: Sequence[str], history: Sequence[dict[str, Any]] = ()) -> list[str]:
    """The tools in `names` this message may need: if any built-in tool is called for, every tool of the turn
    (a ticket request may turn into a status question), else only the tools this module cannot judge."""
    context = user_context(text, history)
    if any(name in _PATTERNS and _mentions(name, context) for name in names):
        return list(names)
    return [name for name in names if name not in _PATTERNS]


def user_context(text: str, history: Sequence[dict[str, Any]] = ()) -> str:
    """The user's own words for this turn: the message, plus the assistant's last message for a short reply."""
    if len(text.split()) <= SHORT_REPLY_WORDS:
        last = next((m for m in reversed(history) if m.get("role") == "assistant"), None)
        if last is not None and isinstance(last.get("content"), str):
            return f"{text}\n{last['content']}"
    return text


def suggested_by_document(name: str, text: str, history: Sequence[dict[str, Any]], passages: Sequence[str]) -> bool:
    """A proposed call the user's words do not ask for, while a retrieved passage does: the idea came from a
    document (perhaps a planted instruction), so the confirmation says so. Tools without words are never flagged."""
    if name not in _PATTERNS or _mentions(name, user_context(text, history)):
        return False
    return any(_mentions(name, passage) or name in passage for passage in passages)
