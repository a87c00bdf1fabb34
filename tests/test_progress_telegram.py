"""Telegram shows "typing" only while the bot is really working (issue #22 item 6): not while it waits for the
user's Confirm/Cancel, and never after the answer (fake Bot API + fake LLM, real everything else)."""

from __future__ import annotations

import asyncio

from tests.fakes.llm_server import ToolCalls
from tests.support.telegram import running, telegram_env

PRIVATE = 555
TICKET = {"summary": "Parcel never arrived", "description": "Order 5521, due last week", "priority": "high",
          "category": "other"}
TYPING_REPEAT_S = 5.0  # aiogram's ChatActionSender sends "typing" again every 5 s while it is on


def typing_calls(fake) -> list:
    return [c for c in fake.calls_of("sendChatAction") if c.params.get("action") == "typing"]


async def test_no_typing_while_waiting_for_the_confirm_press(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)], ttft_s=0.3))
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(PRIVATE, "My parcel never arrived, open a ticket", user_id=42))
        await app.settle()
        prompt = next(c for c in telegram_api.calls_of("sendMessage") if c.params.get("reply_markup")
                      and "dm:ok:" in str(c.params["reply_markup"]))
        assert any(c.at < prompt.at for c in typing_calls(telegram_api)), "typing while the model worked"
        await asyncio.sleep(TYPING_REPEAT_S + 0.7)  # a typing left on would be sent again by now
        assert [c for c in typing_calls(telegram_api) if c.at > prompt.at] == [], "typing while the user decides"

        message = next(m for m in telegram_api.chat_messages(PRIVATE) if m.reply_markup
                       and "dm:ok:" in str(m.reply_markup))
        confirm = next(b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row
                       if b["callback_data"].startswith("dm:ok:"))
        pressed = len(telegram_api.calls)
        await app.post(telegram_api.callback_update(PRIVATE, message.message_id, confirm, user_id=42))
        await app.settle()
        after = telegram_api.calls[pressed:]
        reply = [c for c in after if c.method == "sendMessage"][-1]
        assert "DM-1001" in reply.text
        assert any(c.method == "sendChatAction" for c in after[:after.index(reply)]), "typing while it works"
        await asyncio.sleep(0.3)
        assert not [c for c in typing_calls(telegram_api) if c.at > reply.at], "no typing after the answer"


async def test_no_typing_after_an_answer_that_failed(telegram_api, llm_server, redis, monkeypatch):
    from tests.fakes.llm_server import Fail

    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", *[Fail(500)] * 6)  # the model is down: the user gets an error message
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(PRIVATE, "Why is the VPN slow?", user_id=42))
        await app.settle()
        [message] = telegram_api.chat_messages(PRIVATE)
        sent = telegram_api.calls_of("sendMessage")[-1]
        await asyncio.sleep(TYPING_REPEAT_S + 0.7)
        assert message.text and not [c for c in typing_calls(telegram_api) if c.at > sent.at]
