"""Stop in Telegram, end to end: updates in the Bot API's format to the webhook, the real engine and Redis, the
fake Bot API and the fake LLM. A group answer carries a Stop button while it is written; a private answer streams
as drafts with `can_stop` (Telegram's own stop, a `stopped_message_generation` update)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.fakes.llm_server import Reply
from tests.fakes.telegram_api import BOT_USERNAME
from tests.support.telegram import ADMIN_ID, running, telegram_env

GROUP = -100200300
PRIVATE = 555
LONG = " ".join(f"word{i}" for i in range(300)) + "."
STOPPED = "Stopped."


def mention(text: str) -> tuple[str, list[dict]]:
    tag = f"@{BOT_USERNAME}"
    return f"{tag} {text}", [{"type": "mention", "offset": 0, "length": len(tag)}]


def stop_data(markup: dict[str, Any] | None) -> str | None:
    """The callback data of the Stop button in an inline keyboard, or None."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if str(button.get("callback_data", "")).startswith("dms:"):
                return str(button["callback_data"])
    return None


def shown_stop(telegram_api) -> str | None:
    for call in reversed(telegram_api.calls_of("sendMessage", "editMessageText")):
        data = stop_data(call.params.get("reply_markup"))
        if data:
            return data
    return None


def alerts(telegram_api) -> list[dict[str, Any]]:
    return [c.params for c in telegram_api.calls_of("answerCallbackQuery")]


async def ask_group(app, telegram_api, question: str = "tell me everything") -> dict[str, Any]:
    text, entities = mention(question)
    update = telegram_api.message_update(GROUP, text, entities=entities)
    await app.post(update)
    await telegram_api.wait_for(lambda: shown_stop(telegram_api) is not None  # streaming, with its Stop button
                                and "word5" in telegram_api.chat_messages(GROUP)[0].text)
    return update


async def test_the_asker_stops_a_group_answer_with_the_button(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.03))
    async with running(telegram_api, llm_server) as app:
        await ask_group(app, telegram_api)
        [message] = telegram_api.chat_messages(GROUP)
        await app.post(telegram_api.callback_update(GROUP, message.message_id, shown_stop(telegram_api)))
        await app.settle()
        await telegram_api.wait_for(lambda: llm_server.streams_cut == 1)
        sent = llm_server.chunks_sent
        await asyncio.sleep(0.3)  # ten more chunks' time: the provider stream stays closed
        _, memory = await app.runtime.memory.load(f"telegram:telegram:{GROUP}:-")

    [message] = telegram_api.chat_messages(GROUP)
    assert message.text.endswith(STOPPED) and "word0" in message.text and "word299" not in message.text
    assert stop_data(message.reply_markup) is None  # the button went with the answer's end
    assert llm_server.streams_completed == 0 and llm_server.chunks_sent == sent < 300
    assert str(alerts(telegram_api)[-1].get("show_alert", "false")).lower() == "false"
    assert memory[0]["content"].endswith("tell me everything")
    assert memory[1]["content"].startswith("word0") and "word299" not in memory[1]["content"]
    assert STOPPED not in memory[1]["content"]


async def test_someone_else_cannot_stop_it_but_an_admin_can(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.03))
    async with running(telegram_api, llm_server) as app:
        await ask_group(app, telegram_api)
        [message] = telegram_api.chat_messages(GROUP)
        data = shown_stop(telegram_api)
        await app.post(telegram_api.callback_update(GROUP, message.message_id, data, user_id=4242))
        await asyncio.sleep(0.6)  # two polls of the answer: it must go on
        refused = alerts(telegram_api)[-1]
        still = telegram_api.chat_messages(GROUP)[0].text
        assert not still.endswith(STOPPED)
        await app.post(telegram_api.callback_update(GROUP, message.message_id, data, user_id=ADMIN_ID))
        await app.settle()

    assert str(refused["show_alert"]).lower() == "true"
    assert refused["text"] == "Only the person who asked (or an admin) can stop this answer."
    [message] = telegram_api.chat_messages(GROUP)
    assert message.text.endswith(STOPPED) and "word299" not in message.text


async def test_stop_after_the_end_changes_nothing(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.005))
    async with running(telegram_api, llm_server) as app:
        await ask_group(app, telegram_api)
        data = shown_stop(telegram_api)
        await app.settle()
        [message] = telegram_api.chat_messages(GROUP)
        edits = len(telegram_api.calls_of("editMessageText"))
        await app.post(telegram_api.callback_update(GROUP, message.message_id, data))
        await asyncio.sleep(0.5)
        await app.settle()
        _, memory = await app.runtime.memory.load(f"telegram:telegram:{GROUP}:-")

    [after] = telegram_api.chat_messages(GROUP)
    assert after.text == message.text and "word299" in after.text and not after.text.endswith(STOPPED)
    assert stop_data(after.reply_markup) is None
    assert len(telegram_api.calls_of("editMessageText")) == edits
    assert alerts(telegram_api)[-1]["text"] == "This answer has already finished."
    assert "word299" in memory[1]["content"]
    assert llm_server.streams_completed == 1


async def test_telegrams_own_stop_on_a_private_draft(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.03), Reply("Here is the rest."))
    async with running(telegram_api, llm_server) as app:
        # a private chat's id is its user's id
        await app.post(telegram_api.message_update(PRIVATE, "расскажи всё", user_id=PRIVATE, language="ru"))
        await telegram_api.wait_for(lambda: len(telegram_api.drafts) >= 2)
        draft = telegram_api.drafts[-1].params
        await app.post({"update_id": telegram_api.next_update_id(), "stopped_message_generation": {
            "chat": {"id": PRIVATE, "type": "private", "first_name": "Ann"}, "draft_id": int(draft["draft_id"])}})
        await app.settle()
        await telegram_api.wait_for(lambda: llm_server.streams_cut == 1)
        [stopped] = telegram_api.chat_messages(PRIVATE)
        await app.post(telegram_api.message_update(PRIVATE, "продолжай", user_id=PRIVATE, language="ru"))
        await app.settle()

    assert str(draft.get("can_stop")).lower() == "true"
    assert stopped.text.endswith("Остановлено.") and "word0" in stopped.text and "word299" not in stopped.text
    assert llm_server.streams_completed == 1  # only the follow-up ran to its end
    follow_up = llm_server.requests_for("gpt-4o-mini")[-1].body["messages"]
    partial = [m["content"] for m in follow_up if m["role"] == "assistant"]
    assert partial and partial[-1].startswith("word0") and "word299" not in partial[-1]
