"""Customers message Deskmate on Telegram and get streamed answers (fake Bot API + fake LLM, real everything else)."""

from __future__ import annotations

import time

import pytest

from tests.fakes.llm_server import Reply, ToolCalls
from tests.fakes.telegram_api import BOT_USERNAME, BadRequest, RetryAfter
from tests.support.telegram import ADMIN_ID, running, telegram_env

GROUP = -100200300
PRIVATE = 555
DESK = -100900900  # the support team's group (escalation target)


def words_answer(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n)) + "."


def mention(text: str) -> tuple[str, list[dict]]:
    tag = f"@{BOT_USERNAME}"
    return f"{tag} {text}", [{"type": "mention", "offset": 0, "length": len(tag)}]


async def test_private_chat_streams_drafts_then_one_final_message(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    answer = words_answer(40)
    llm_server.script("gpt-4o-mini", Reply(answer, chunk_delay_s=0.01))
    async with running(telegram_api, llm_server) as app:
        update = telegram_api.message_update(PRIVATE, "How do I reset my password?")
        assert await app.post(update) == 200
        await app.settle()

    drafts = [c for c in telegram_api.calls_of("sendMessageDraft") if int(c.params["chat_id"]) == PRIVATE]
    sends = [c for c in telegram_api.calls_of("sendMessage") if int(c.params["chat_id"]) == PRIVATE]
    assert len(drafts) >= 2, "the answer should be previewed as it streams"
    assert all(d.text.strip() for d in drafts), "a draft never carries empty text"
    assert all(answer.startswith(d.text) for d in drafts), "each draft shows a prefix of the answer"
    assert len(sends) == 1
    assert telegram_api.calls.index(sends[0]) > telegram_api.calls.index(drafts[-1])
    [message] = telegram_api.chat_messages(PRIVATE)
    assert message.text == answer
    assert message.reply_to == update["message"]["message_id"]
    buttons = message.reply_markup["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["👍", "👎"]
    assert not telegram_api.calls_of("editMessageText")
    # the question reached the model as the user typed it
    assert llm_server.requests_for("gpt-4o-mini")[0].body["messages"][-1]["content"].endswith(
        "How do I reset my password?")


async def test_group_mention_gets_a_message_then_edits(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    answer = words_answer(60)
    llm_server.script("gpt-4o-mini", Reply(answer, chunk_delay_s=0.02))
    async with running(telegram_api, llm_server) as app:
        unaddressed = telegram_api.message_update(GROUP, "people chatting among themselves")
        from_bot = telegram_api.message_update(GROUP, mention("hi")[0], is_bot=True, user_id=99,
                                               entities=mention("hi")[1])
        text, entities = mention("where is my order?")
        update = telegram_api.message_update(GROUP, text, entities=entities)
        for u in (unaddressed, from_bot, update):
            assert await app.post(u) == 200
        await app.settle()

    assert len(llm_server.requests_for("gpt-4o-mini")) == 1, "only the mention is answered"
    assert llm_server.requests_for("gpt-4o-mini")[0].body["messages"][-1]["content"].endswith("where is my order?")
    assert not telegram_api.calls_of("sendMessageDraft")
    sends = telegram_api.calls_of("sendMessage")
    edits = telegram_api.calls_of("editMessageText")
    assert len(sends) == 1 and sends[0].text.strip()
    assert len(edits) >= 2
    [message] = telegram_api.chat_messages(GROUP)
    assert message.text.startswith(answer)  # then the sources it consulted (the model cited none)
    assert message.reply_to == update["message"]["message_id"]
    assert message.reply_markup is not None
    assert edits[-1].params.get("reply_markup"), "the keyboard arrives with the final text"


async def test_reply_to_bot_and_forum_topic_are_separate_conversations(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(GROUP, "How do I reset my password?", reply_to_bot=True, thread_id=7))
        await app.settle()
        await app.post(telegram_api.message_update(GROUP, "Where is my parcel delivery today?", reply_to_bot=True, thread_id=8))
        await app.settle()

    _, second = llm_server.requests_for("gpt-4o-mini")
    assert "reset my password" not in str(second.body["messages"]), "topics do not share memory"
    threads = sorted(m.thread_id for m in telegram_api.chat_messages(GROUP))
    assert threads == [7, 8]


async def test_429_slows_down_and_the_answer_is_complete(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    answer = words_answer(80)
    llm_server.script("gpt-4o-mini", Reply(answer, chunk_delay_s=0.02))
    telegram_api.fail("editMessageText", RetryAfter(1))
    async with running(telegram_api, llm_server) as app:
        text, entities = mention("tell me everything")
        await app.post(telegram_api.message_update(GROUP, text, entities=entities))
        await app.settle()

    [message] = telegram_api.chat_messages(GROUP)
    assert message.text == answer, "nothing is lost after a 429"
    edits = telegram_api.calls_of("editMessageText")
    refused, after = edits[0], edits[1]
    assert after.at - refused.at >= 0.9, "Telegram's retry_after is respected before editing again"
    registry = app.runtime.services.metrics.registry  # what an operator sees on /metrics
    labels = {"platform": "telegram", "method": "editMessageText"}
    assert registry.get_sample_value("deskmate_platform_api_rate_limited_total", labels) == 1
    assert registry.get_sample_value("deskmate_platform_api_retries_total", labels) == 1


async def test_long_answer_is_split_into_three_messages_in_order(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    paragraphs = [f"Paragraph {i}. " + "This sentence explains a detail of the product. " * 20 for i in range(9)]
    answer = "\n\n".join(p.strip() for p in paragraphs)
    assert 8_500 < len(answer) < 9_500
    llm_server.script("gpt-4o-mini", Reply(answer))
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(PRIVATE, "explain the whole product"))
        await app.settle()

    messages = telegram_api.chat_messages(PRIVATE)
    assert len(messages) == 3
    assert all(len(m.text) <= 4096 for m in messages)
    words = " ".join(m.text for m in messages).split()
    assert words[:len(answer.split())] == answer.split(), "in order, nothing lost or repeated"
    assert "Sources consulted" in " ".join(words[len(answer.split()):])  # the model cited none of its passages
    assert all(m.text.rstrip().endswith(".") for m in messages[:-1]), "cut at sentence/paragraph ends"
    assert [m.reply_markup is not None for m in messages] == [False, False, True]


async def test_markup_is_escaped_and_a_rejected_format_is_resent_as_plain_text(
        telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    tricky = "Use **bold** with a < b & c > d, `<tag>` and [docs](https://example.com/a?x=1&y=2)."
    llm_server.script("gpt-4o-mini", Reply(tricky), Reply("Second **answer** here."))
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(PRIVATE, "formatting please"))
        await app.settle()
        [first] = telegram_api.chat_messages(PRIVATE)
        assert first.parse_mode == "HTML"
        assert first.text == "Use bold with a < b & c > d, <tag> and docs."
        # Telegram still rejects the formatting: the answer arrives as plain text instead of an error
        telegram_api.fail("sendMessage", BadRequest("can't parse entities: Unsupported start tag \"x\" at byte "
                                                    "offset 0"), when=lambda p: bool(p.get("parse_mode")))
        await app.post(telegram_api.message_update(PRIVATE, "again"))
        await app.settle()

    second = telegram_api.chat_messages(PRIVATE)[-1]
    assert second.parse_mode is None
    assert second.text == "Second **answer** here."
    assert second.reply_markup is not None


async def test_webhook_with_a_wrong_or_missing_secret_is_refused(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        assert await app.post(telegram_api.message_update(PRIVATE, "hi"), secret="wrong") in (401, 403)
        assert await app.post(telegram_api.message_update(PRIVATE, "hi"), secret=None) in (401, 403)
        await app.settle()
    assert not llm_server.requests
    assert not telegram_api.calls_of("sendMessage", "sendMessageDraft", "sendChatAction")
    assert telegram_api.calls_of("setWebhook")[0].params["secret_token"] == "webhook-secret-123"


async def test_the_same_update_delivered_twice_gets_one_answer(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        update = telegram_api.message_update(PRIVATE, "only once please")
        assert await app.post(update) == 200
        assert await app.post(update) == 200
        await app.settle()
    assert len(llm_server.requests_for("gpt-4o-mini")) == 1
    assert len(telegram_api.chat_messages(PRIVATE)) == 1


async def test_polling_restart_neither_replays_nor_drops(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis, mode="polling")
    first = telegram_api.message_update(PRIVATE, "asked before the restart")
    telegram_api.push_update(first)
    async with running(telegram_api, llm_server):
        await telegram_api.wait_for(lambda: len(telegram_api.chat_messages(PRIVATE)) == 1)
    assert not telegram_api.calls_of("setWebhook") and telegram_api.calls_of("deleteWebhook")
    # After a crash Telegram hands out the unconfirmed update again, next to one that arrived meanwhile.
    telegram_api.push_update(first)
    second = telegram_api.message_update(PRIVATE, "asked during the restart")
    telegram_api.push_update(second)
    async with running(telegram_api, llm_server) as app:
        await telegram_api.wait_for(lambda: len(telegram_api.chat_messages(PRIVATE)) >= 2)
        await app.settle()
    answered = [m.reply_to for m in telegram_api.chat_messages(PRIVATE)]
    assert answered == [first["message"]["message_id"], second["message"]["message_id"]], \
        "the replayed update is not answered again; the new one is answered"


async def test_feedback_presses_are_stored_with_prompt_and_model(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(PRIVATE, "rate me"))
        await app.settle()
        [message] = telegram_api.chat_messages(PRIVATE)
        down = message.reply_markup["inline_keyboard"][0][1]["callback_data"]
        up = message.reply_markup["inline_keyboard"][0][0]["callback_data"]
        reply_id = down.split(":")[-1]
        # the deployment's feedback ledger (core/ops) receives the press
        assert await app.post(telegram_api.callback_update(PRIVATE, message.message_id, down, user_id=42)) == 200
        store = app.runtime.ops.feedback
        [vote] = await store.votes(0, time.time() + 60)
        assert (vote.reply_id, vote.user, vote.value) == (reply_id, "42", "down")
        assert vote.facts["prompt_version"] not in ("", "-") and vote.facts["model"] != "unknown"
        assert vote.facts["tenant"] == "telegram"  # the deployment tenant, never the bot id
        assert await app.post(telegram_api.callback_update(PRIVATE, message.message_id, up, user_id=43)) == 200
        other = await store.vote(reply_id, "43")
        assert other is not None and other.value == "up" and other.facts["model"] == vote.facts["model"]
        assert not await redis.keys("dm:feedback:*")  # one store: the adapter keeps no copy of its own
    assert len(telegram_api.calls_of("answerCallbackQuery")) == 2


async def test_admin_commands_only_for_admins(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        flags, profile = app.runtime.flags, app.runtime.profiles["support"]

        async def cache_on() -> bool:
            return (await flags.effective(profile, "telegram", "telegram", str(GROUP)))["cache"].on

        await app.post(telegram_api.message_update(GROUP, "/disable cache", user_id=42,
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 8}]))
        await app.settle()
        refusal = telegram_api.chat_messages(GROUP)[-1].text
        assert "only administrators" in refusal
        assert await cache_on(), "a customer changed nothing"

        telegram_api.chat_admins[GROUP] = {77}  # a chat administrator, not in the allow-list
        await app.post(telegram_api.message_update(GROUP, f"/disable@{BOT_USERNAME} cache", user_id=77,
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 26}]))
        await app.settle()
        assert "cache" in telegram_api.chat_messages(GROUP)[-1].text and "off" in telegram_api.chat_messages(
            GROUP)[-1].text
        assert not await cache_on()
        history = await flags.history("telegram", "telegram", limit=1)
        assert history[0]["by"] == "77"

        await app.post(telegram_api.message_update(PRIVATE, "/features", user_id=ADMIN_ID,
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 9}]))
        await app.settle()
        assert "Features in this conversation" in telegram_api.chat_messages(PRIVATE)[-1].text

        await app.post(telegram_api.message_update(PRIVATE, "/gaps", user_id=ADMIN_ID,
                                                   entities=[{"type": "bot_command", "offset": 0, "length": 5}]))
        await app.settle()
        assert "Knowledge gaps" in telegram_api.chat_messages(PRIVATE)[-1].text
        await app.post(telegram_api.message_update(GROUP, f"/gaps@{BOT_USERNAME}", user_id=77,
                                                   entities=[{"type": "bot_command", "offset": 0,
                                                             "length": len(f"/gaps@{BOT_USERNAME}")}]))
        await app.settle()
        assert "Knowledge gaps" not in telegram_api.chat_messages(GROUP)[-1].text  # a chat admin: not tenant-wide
    assert not llm_server.requests, "commands never reach the model"
    scopes = [c.params.get("scope", {}).get("type") for c in telegram_api.calls_of("setMyCommands")]
    assert {"default", "all_chat_administrators", "chat"} <= set(scopes)
    admin_menu = next(c for c in telegram_api.calls_of("setMyCommands") if c.params["scope"]["type"] == "chat")
    assert admin_menu.params["scope"]["chat_id"] == ADMIN_ID
    default_menu = next(c for c in telegram_api.calls_of("setMyCommands") if c.params["scope"]["type"] == "default")
    assert "disable" not in {c["command"] for c in default_menu.params["commands"]}
    chat_admins = next(c for c in telegram_api.calls_of("setMyCommands")
                       if c.params["scope"]["type"] == "all_chat_administrators")
    assert "gaps" in {c["command"] for c in admin_menu.params["commands"]}
    assert {"gaps", "stats"}.isdisjoint(c["command"] for c in chat_admins.params["commands"])


@pytest.mark.parametrize("configured", [True, False])
async def test_voice_message(telegram_api, llm_server, redis, monkeypatch, configured):
    extra = {"speech_model": "openai/whisper-1", "media_api_base": llm_server.base_url,
             "media_api_key": "sk-test"} if configured else {}
    telegram_env(monkeypatch, telegram_api, llm_server, redis, **extra)
    llm_server.script_transcription("Где мой заказ номер 12345?")
    telegram_api.add_file("voice-1", b"OggS" + bytes(2000))
    async with running(telegram_api, llm_server) as app:
        voice = {"file_id": "voice-1", "file_unique_id": "uv1", "duration": 2, "mime_type": "audio/ogg",
                 "file_size": 2004}
        await app.post(telegram_api.message_update(PRIVATE, None, language="ru", voice=voice))
        await app.settle()
    [message] = telegram_api.chat_messages(PRIVATE)
    if configured:
        transcription = [r for r in llm_server.requests if r.path.endswith("audio/transcriptions")]
        assert transcription and transcription[0].body["file_bytes"] == 2004
        asked = llm_server.requests_for("gpt-4o-mini")[0].body["messages"][-1]["content"]
        assert asked.endswith("Где мой заказ номер 12345?")
        assert message.reply_markup is not None
    else:
        assert not llm_server.requests
        assert "голосовые" in message.text, "a polite answer in the customer's language"


async def test_other_content_gets_a_short_answer(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    async with running(telegram_api, llm_server) as app:
        sticker = {"file_id": "st1", "file_unique_id": "ust1", "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False}
        await app.post(telegram_api.message_update(PRIVATE, None, sticker=sticker))
        photo = [{"file_id": "ph1", "file_unique_id": "uph1", "width": 90, "height": 90, "file_size": 100}]
        await app.post(telegram_api.message_update(PRIVATE, None, photo=photo))
        await app.settle()
    texts = [m.text for m in telegram_api.chat_messages(PRIVATE)]
    assert texts == ["I can only read text messages here. Please type your question.",
                     "I can't look at pictures here. Please describe what you see in a text message."]
    assert not llm_server.requests


TICKET = {"summary": "Parcel never arrived", "description": "Order 5521, due last week", "priority": "high",
          "category": "other"}


def proposal_message(fake, chat_id: int):
    """The message carrying Confirm/Cancel, and the two buttons' callback data."""
    for message in fake.chat_messages(chat_id):
        rows = (message.reply_markup or {}).get("inline_keyboard") or []
        data = [b.get("callback_data", "") for row in rows for b in row]
        if any(d.startswith("dm:ok:") for d in data):
            return message, data
    raise AssertionError("no proposal with Confirm/Cancel in the chat")


async def test_confirm_button_creates_the_ticket_and_the_reply_names_it(telegram_api, llm_server, redis,
                                                                        monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)]))
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(PRIVATE, "My parcel never arrived, open a ticket", user_id=42))
        await app.settle()
        proposal, (confirm, _) = proposal_message(telegram_api, PRIVATE)
        assert "Parcel never arrived" in proposal.text
        assert [b["text"] for b in proposal.reply_markup["inline_keyboard"][0]] == ["✅ Confirm", "✖️ Cancel"]
        tickets = app.runtime.tools.tickets
        assert await tickets.count() == 0  # nothing happens before the press

        assert await app.post(telegram_api.callback_update(PRIVATE, proposal.message_id, confirm, user_id=42)) == 200
        await app.settle()
        final = telegram_api.chat_messages(PRIVATE)[-1]
        assert "DM-1001" in final.text and "Parcel never arrived" in final.text  # the reply names the ticket
        ticket = await tickets.get("DM-1001", "telegram", "telegram")  # the deployment tenant
        assert ticket is not None and ticket.user == "42" and ticket.priority == "high"
        assert telegram_api.messages[(PRIVATE, proposal.message_id)].reply_markup is None  # buttons are spent


async def test_another_users_confirm_creates_nothing_and_leaves_the_buttons(telegram_api, llm_server, redis,
                                                                            monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)]))
    async with running(telegram_api, llm_server) as app:
        text, entities = mention("my parcel never arrived, open a ticket")
        await app.post(telegram_api.message_update(GROUP, text, entities=entities, user_id=42))
        await app.settle()
        proposal, (confirm, _) = proposal_message(telegram_api, GROUP)

        await app.post(telegram_api.callback_update(GROUP, proposal.message_id, confirm, user_id=43))
        await app.settle()
        assert "only the person who asked" in telegram_api.chat_messages(GROUP)[-1].text
        tickets = app.runtime.tools.tickets
        assert await tickets.count() == 0
        assert telegram_api.messages[(GROUP, proposal.message_id)].reply_markup, "still there for the asker"

        await app.post(telegram_api.callback_update(GROUP, proposal.message_id, confirm, user_id=42))
        await app.settle()
        assert "DM-1001" in telegram_api.chat_messages(GROUP)[-1].text
        assert await tickets.count() == 1


async def test_escalation_posts_a_masked_note_in_the_escalation_chat(telegram_api, llm_server, redis, monkeypatch):
    telegram_env(monkeypatch, telegram_api, llm_server, redis)
    monkeypatch.setenv("DESKMATE_TOOLS__ESCALATION_TARGET", f"telegram:{DESK}")
    llm_server.script("gpt-4o-mini", ToolCalls([("escalate_to_human", {"reason": "Customer asks for a person"})]))
    async with running(telegram_api, llm_server) as app:
        await app.post(telegram_api.message_update(
            PRIVATE, "My order is lost. Mail me at jane.cooper@contoso-mail.com or call +44 20 7946 0958, "
                     "I want a human", user_id=42))
        await app.settle()
        proposal, (confirm, _) = proposal_message(telegram_api, PRIVATE)
        assert telegram_api.chat_messages(DESK) == []  # nothing is sent before the customer confirms
        await app.post(telegram_api.callback_update(PRIVATE, proposal.message_id, confirm, user_id=42))
        await app.settle()
        assert "someone will follow up" in telegram_api.chat_messages(PRIVATE)[-1].text
        [stored] = await app.runtime.tools.escalations.recent("telegram", "telegram")
    [note] = telegram_api.chat_messages(DESK)
    assert "Reason: Customer asks for a person" in note.text and "order is lost" in note.text
    assert "jane.cooper@contoso-mail.com" not in note.text and "7946" not in note.text
    assert "<EMAIL_1>" in note.text and "<PHONE_1>" in note.text  # placeholders, sent as plain text
    assert note.parse_mode is None
    assert stored["delivered"] and stored["target"] == f"telegram:{DESK}"


def test_escalation_target_is_a_chat_id_or_a_public_channel():
    from adapters.telegram.notifier import chat_of

    assert chat_of("-1001234567890") == -1001234567890
    assert chat_of(" 42 ") == 42
    assert chat_of("@helpdesk_team") == "@helpdesk_team"
    with pytest.raises(ValueError, match="chat id or @channel"):
        chat_of("helpdesk team")
