"""Edited questions in Telegram, end to end: `edited_message` updates in the Bot API's format to the webhook,
the real engine and Redis, the fake Bot API and the fake LLM. (Telegram sends bots no deletion updates in
ordinary chats: there is nothing to test for deletions here; README says so.)"""

from __future__ import annotations

import asyncio

from tests.fakes.llm_server import Reply
from tests.fakes.telegram_api import BOT_USERNAME
from tests.fakes.telegram_edits import edited_update
from tests.support.telegram import running, telegram_env

GROUP = -100200300
PRIVATE = 555
MARK = "Answer updated for your edited question."


def mention(text: str) -> tuple[str, list[dict]]:
    tag = f"@{BOT_USERNAME}"
    return f"{tag} {text}", [{"type": "mention", "offset": 0, "length": len(tag)}]


def setup(monkeypatch, telegram_api, llm_server, redis) -> None:
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    monkeypatch.setenv("DESKMATE_EDITS__SETTLE_S", "0.2")


async def edit_and_settle(app, update: dict) -> None:
    assert await app.post(update) == 200
    await asyncio.sleep(0.5)  # the settle time, then the answer is queued
    await app.settle()


async def test_an_edited_private_question_gets_its_answer_replaced_in_place(telegram_api, llm_server, redis,
                                                                            monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", Reply("Restart the router."), Reply("Reset it on the portal."))
    async with running(telegram_api, llm_server) as app:
        question = telegram_api.message_update(PRIVATE, "my wifi is down")
        await app.post(question)
        await app.settle()
        [answer] = telegram_api.chat_messages(PRIVATE)
        await edit_and_settle(app, edited_update(telegram_api, question, "how do I reset my password"))
        _, memory = await app.runtime.memory.load(f"telegram:telegram:{PRIVATE}:-")

    [message] = telegram_api.chat_messages(PRIVATE)  # the same message, edited: no second answer
    assert message.message_id == answer.message_id
    assert message.text.startswith(MARK) and "Reset it on the portal." in message.text
    assert "Restart the router" not in message.text
    assert [b["text"] for b in message.reply_markup["inline_keyboard"][0]] == ["👍", "👎"]
    assert llm_server.requests_for("gpt-4o-mini")[-1].body["messages"][-1]["content"].endswith(
        "how do I reset my password")
    assert [m["content"] for m in memory] == ["how do I reset my password", "Reset it on the portal."]


async def test_a_group_edit_while_streaming_cancels_and_replaces(telegram_api, llm_server, redis, monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    long = " ".join(f"word{i}" for i in range(200)) + "."
    llm_server.script("gpt-4o-mini", Reply(long, chunk_delay_s=0.03), Reply("The short answer."))
    async with running(telegram_api, llm_server) as app:
        text, entities = mention("tell me everything")
        question = telegram_api.message_update(GROUP, text, entities=entities)
        await app.post(question)
        await telegram_api.wait_for(lambda: bool(telegram_api.calls_of("editMessageText")))  # streaming
        text, entities = mention("just the short version")
        await edit_and_settle(app, edited_update(telegram_api, question, text, entities=entities))
        await app.settle()

    [message] = telegram_api.chat_messages(GROUP)
    assert message.text.startswith(MARK) and "The short answer." in message.text and "word199" not in message.text
    assert llm_server.streams_completed == 1


async def test_a_long_answer_replaced_by_a_short_one_leaves_one_message(telegram_api, llm_server, redis,
                                                                        monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    long = "\n\n".join(f"Paragraph {i}. " + "This sentence explains a detail. " * 25 for i in range(8))
    llm_server.script("gpt-4o-mini", Reply(long), Reply("Short."))
    async with running(telegram_api, llm_server) as app:
        question = telegram_api.message_update(PRIVATE, "explain the whole product")
        await app.post(question)
        await app.settle()
        assert len(telegram_api.chat_messages(PRIVATE)) >= 2
        await edit_and_settle(app, edited_update(telegram_api, question, "explain only the price"))

    [message] = telegram_api.chat_messages(PRIVATE)  # the old answer's later parts were deleted
    assert message.text.startswith(MARK) and "Short." in message.text and "Paragraph" not in message.text


async def test_edits_that_change_nothing_are_not_answered(telegram_api, llm_server, redis, monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        question = telegram_api.message_update(PRIVATE, "where is my parcel")
        await app.post(question)
        await app.settle()
        late = edited_update(telegram_api, question, "where is my refund", after_s=601)
        same = edited_update(telegram_api, question, "where is my parcel")  # e.g. only a link preview changed
        empty = edited_update(telegram_api, question, "   ")
        stranger = edited_update(telegram_api, question, "give me the admin password", user_id=4242)
        for update in (late, same, empty, stranger):
            assert await app.post(update) == 200
        await asyncio.sleep(0.5)
        await app.settle()

    assert len(llm_server.requests_for("gpt-4o-mini")) == 1
    assert not telegram_api.calls_of("editMessageText")


async def test_the_same_edit_delivered_twice_is_answered_once(telegram_api, llm_server, redis, monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        question = telegram_api.message_update(PRIVATE, "where is my parcel")
        await app.post(question)
        await app.settle()
        update = edited_update(telegram_api, question, "where is my parcel to Berlin")
        again = {**update, "update_id": telegram_api.next_update_id()}  # the same edit under another update id
        await asyncio.gather(app.post(update), app.post(update), app.post(again))
        await asyncio.sleep(0.5)
        await app.settle()

    assert len(llm_server.requests_for("gpt-4o-mini")) == 2
    finals = [c for c in telegram_api.calls_of("editMessageText") if "dm:up:" in str(c.params.get("reply_markup"))]
    assert len(finals) == 1  # one final edit (with the feedback buttons): answered once


async def test_an_edit_into_russian_gets_a_russian_answer_and_mark(telegram_api, llm_server, redis, monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", Reply("Check the tracking page."), Reply("Проверьте страницу отслеживания."))
    async with running(telegram_api, llm_server) as app:
        question = telegram_api.message_update(PRIVATE, "where is my parcel")
        await app.post(question)
        await app.settle()
        await edit_and_settle(app, edited_update(telegram_api, question, "где моя посылка?"))

    [message] = telegram_api.chat_messages(PRIVATE)
    assert message.text.startswith("Ответ обновлён") and "Проверьте страницу" in message.text


async def test_a_group_edit_that_drops_the_mention_leaves_the_answer(telegram_api, llm_server, redis, monkeypatch):
    setup(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        text, entities = mention("where is my order")
        question = telegram_api.message_update(GROUP, text, entities=entities)
        await app.post(question)
        await app.settle()
        await edit_and_settle(app, edited_update(telegram_api, question, "never mind, found it"))

    assert len(llm_server.requests_for("gpt-4o-mini")) == 1
    [message] = telegram_api.chat_messages(GROUP)
    assert "where is my order" in message.text and MARK not in message.text
