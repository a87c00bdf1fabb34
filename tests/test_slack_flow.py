"""Slack end to end: signed requests to the app, the real engine, a fake LLM and a fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from tests.fakes.llm_server import Reply, ToolCalls
from tests.fakes.slack_api import slack_rig, wait_for

ANSWER = "Restart the **VPN client**, then sign in again [1]. See [the guide](https://wiki.example/vpn)."


@pytest.fixture
async def rig(llm_server, monkeypatch, redis):
    async with slack_rig(llm_server, monkeypatch) as rig:
        yield rig


async def test_mention_streams_the_answer_in_the_thread(rig, llm_server):
    llm_server.script("gpt-4o-mini", Reply(ANSWER))
    ts = await rig.mention("my vpn is broken")
    text = await rig.answered("C1", ts)
    assert text == ANSWER  # streamed as Markdown, in the thread under the question
    start = rig.slack.calls_to("chat.startStream")[0]
    assert start.args["thread_ts"] == ts and start.args["recipient_user_id"] == "U1"
    assert start.args["recipient_team_id"] == "T1"
    assert llm_server.requests[-1].body["messages"][-1]["content"] == "my vpn is broken"  # mention stripped
    stop = rig.slack.calls_to("chat.stopStream")[-1]
    kinds = [b["type"] for b in stop.args["blocks"]]
    assert kinds[-1] == "actions"  # feedback buttons under the final message


async def test_dm_is_answered_in_a_thread_under_the_message(rig, llm_server):
    ts = await rig.dm("How do I reset my password?")
    text = await rig.answered("D1", ts)
    assert "How do I reset my password?" in text
    start = rig.slack.calls_to("chat.startStream")[0]
    assert start.args["thread_ts"] == ts and "recipient_user_id" not in start.args
    assert llm_server.requests[-1].body["messages"][-1]["content"] == "How do I reset my password?"


async def test_retried_delivery_is_answered_once(rig, llm_server):
    ts = await rig.mention("hello", event_id="EvSAME")
    await rig.mention("hello", event_id="EvSAME")  # Slack retries the same event
    resp = await rig.event({"type": "app_mention", "user": "U1", "text": "<@UBOT> hello", "ts": ts,
                            "channel": "C1"}, event_id="EvSAME", retry=2)
    assert resp.status == 200
    await rig.answered("C1", ts)
    await rig.idle()
    assert len(rig.slack.calls_to("chat.startStream")) == 1
    assert len(llm_server.requests_for("gpt-4o-mini")) == 1


async def test_bad_or_stale_signature_gets_401_and_no_processing(rig, llm_server):
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "EvBAD",
                       "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> hi", "ts": "1.1",
                                 "channel": "C1"}})
    assert (await rig.post(body, secret="wrong-secret")).status == 401
    assert (await rig.post(body, timestamp=1_600_000_000)).status == 401  # older than 5 minutes
    await rig.idle()
    assert rig.slack.calls == [] and llm_server.requests == []


async def test_own_and_other_bots_messages_are_ignored(rig, llm_server):
    ts = await rig.mention("start a thread")
    await rig.answered("C1", ts)
    for extra in ({"bot_id": "BBOT", "user": "UBOT"}, {"bot_id": "BOTHER", "user": "UOTHER"},
                  {"subtype": "bot_message", "bot_id": "BX"}):
        event = {"type": "message", "channel_type": "channel", "channel": "C1", "text": "beep",
                 "ts": rig.next_ts(), "thread_ts": ts, **extra}
        assert (await rig.event(event)).status == 200
    human = rig.next_ts()
    await rig.event({"type": "message", "channel_type": "channel", "channel": "C1", "user": "U2",
                     "text": "and a follow-up without a mention", "ts": human, "thread_ts": ts})
    await rig.answered("C1", ts, count=2)
    assert len(llm_server.requests_for("gpt-4o-mini")) == 2  # the first question and the human follow-up


async def test_stream_refused_falls_back_to_post_and_update_with_full_text(rig, llm_server):
    rig.slack.refuse_streaming("feature_not_enabled")
    long = " ".join(f"word{i}" for i in range(300)) + " **done**"
    llm_server.script("gpt-4o-mini", Reply(long))
    ts = await rig.mention("give me a long answer")
    text = await rig.answered("C1", ts)
    assert text.replace("*done*", "**done**") == long  # mrkdwn: **done** is rendered as *done*
    assert rig.slack.calls_to("chat.postMessage") and rig.slack.calls_to("chat.update")


async def test_stream_dying_midway_continues_with_update_without_losing_text(llm_server, monkeypatch, redis):
    async with slack_rig(llm_server, monkeypatch, DESKMATE_SLACK__STREAM_BATCH_CHARS="40") as rig:
        rig.slack.kill_streams_after(2)
        long = " ".join(f"part{i}" for i in range(120)) + " [1]"
        llm_server.script("gpt-4o-mini", Reply(long))
        ts = await rig.mention("long please")
        # the rest goes by chat.update, paced by its shared Tier 3 budget: slow by design, but complete
        text = await rig.answered("C1", ts, within_s=60.0)
        assert text == long
        assert any(c.error == "message_not_in_streaming_state" for c in rig.slack.calls)
        assert len(rig.slack.thread("C1", ts)) == 1  # the streamed message itself was completed


async def test_long_answer_continues_in_a_follow_up_message(llm_server, monkeypatch, redis):
    async with slack_rig(llm_server, monkeypatch, DESKMATE_SLACK__MAX_MESSAGE_CHARS="300") as rig:
        long = " ".join(f"piece{i}" for i in range(150)) + " [1]"
        llm_server.script("gpt-4o-mini", Reply(long))
        ts = await rig.mention("very long please")
        text = await rig.answered("C1", ts)
        messages = rig.slack.thread("C1", ts)
        assert len(messages) >= 3 and all(len(m.text) <= 300 for m in messages)
        assert text == long


async def test_rate_limited_call_waits_and_completes(rig, llm_server):
    rig.slack.rate_limit_once("chat.startStream", retry_after=1)
    llm_server.script("gpt-4o-mini", Reply(ANSWER))
    ts = await rig.mention("vpn?")
    assert await rig.answered("C1", ts) == ANSWER
    starts = rig.slack.calls_to("chat.startStream")
    assert [c.status for c in starts] == [429, 200]
    assert starts[1].at - starts[0].at >= 0.9  # Retry-After (1 s) was honoured (timestamps taken at the handler)
    metrics = rig.runtime.services.metrics  # what an operator sees on /metrics
    labels = {"platform": "slack", "method": "chat.startStream"}
    assert metrics.registry.get_sample_value("deskmate_platform_api_rate_limited_total", labels) == 1
    assert metrics.registry.get_sample_value("deskmate_platform_api_retries_total", labels) == 1


async def test_feedback_press_is_stored_with_prompt_version_and_model(rig, llm_server):
    ts = await rig.mention("rate me")
    await rig.answered("C1", ts)
    stop = rig.slack.calls_to("chat.stopStream")[-1]
    button = stop.args["blocks"][-1]["elements"][1]
    assert button["action_id"] == "deskmate_feedback_down"
    await rig.click(button["action_id"], button["value"], "C1", stop.args["ts"], ts, user="U7")
    await wait_for(lambda: bool(rig.slack.calls_to("chat.postEphemeral")))
    store = rig.runtime.ops.feedback  # the operations feedback sink the adapter hands presses to
    votes = [v for v in await store.votes(0, time.time() + 1) if v.reply_id == button["value"]]
    assert [(v.user, v.value) for v in votes] == [("U7", "down")]
    assert votes[0].facts["prompt_version"] == "v1" and "gpt-4o-mini" in votes[0].facts["model"]


async def test_a_second_press_replaces_the_first_and_is_stored_once(rig, llm_server):
    ts = await rig.mention("rate me twice")
    await rig.answered("C1", ts)
    stop = rig.slack.calls_to("chat.stopStream")[-1]
    up, down = stop.args["blocks"][-1]["elements"][:2]
    await rig.click(up["action_id"], up["value"], "C1", stop.args["ts"], ts, user="U5")
    await rig.click(down["action_id"], down["value"], "C1", stop.args["ts"], ts, user="U5")  # a changed mind
    await wait_for(lambda: len(rig.slack.calls_to("chat.postEphemeral")) == 2)
    store = rig.runtime.ops.feedback
    votes = [v for v in await store.votes(0, time.time() + 1) if v.reply_id == up["value"]]
    assert [(v.user, v.value) for v in votes] == [("U5", "down")]
    counts = (await store.stats("slack", "T1"))["stat_feedback"][1]
    assert (counts["up"], counts["down"]) == (0, 1)
    assert not await rig.runtime.redis.keys("dm:feedback:*")  # one store: the adapter keeps no copy of its own


async def test_non_admin_cannot_disable_a_feature(rig, llm_server):
    reply = await rig.command("disable rag", user="U2")
    assert reply["response_type"] == "ephemeral"
    assert "only administrators" in reply["text"]
    features = await rig.command("features", user="U2")
    assert "`rag`: *on*" in features["text"]


async def test_admin_toggle_applies_to_the_next_message_in_that_channel_only(rig, llm_server):
    rig.slack.add_user("UADMIN", admin=True)
    reply = await rig.command("disable rag", user="UADMIN", channel="C1")
    assert "is now *off*" in reply["text"]
    ts1 = await rig.mention("question in C1", channel="C1")
    await rig.answered("C1", ts1)
    in_c1 = llm_server.requests[-1].body["messages"][0]["content"]
    ts2 = await rig.mention("question in C2", channel="C2")
    await rig.answered("C2", ts2)
    in_c2 = llm_server.requests[-1].body["messages"][0]["content"]
    assert "knowledge passages" not in in_c1 and "knowledge passages" in in_c2
    features = await rig.command("features", user="U2", channel="C1")
    assert "`rag`: *off* (set for this channel by UADMIN" in features["text"]


async def test_workspaces_are_separate_tenants(rig, llm_server):
    rig.slack.add_user("UADMIN", admin=True)
    await rig.command("disable rag workspace", user="UADMIN", team="T1")
    ts = await rig.mention("question from another workspace", channel="C1", team="T2")
    await rig.answered("C1", ts)
    assert "knowledge passages" in llm_server.requests[-1].body["messages"][0]["content"]  # T2 keeps rag
    ts = await rig.mention("question from the same workspace", channel="C2", team="T1")
    await rig.answered("C2", ts)
    assert "knowledge passages" not in llm_server.requests[-1].body["messages"][0]["content"]  # T1: off


async def test_assistant_thread_gets_prompts_and_thinking_status(rig, llm_server):
    thread = rig.next_ts()
    await rig.event({"type": "assistant_thread_started", "event_ts": thread,
                     "assistant_thread": {"user_id": "U1", "channel_id": "D9", "thread_ts": thread}})
    await wait_for(lambda: bool(rig.slack.calls_to("assistant.threads.setSuggestedPrompts")))
    ts = await rig.dm("help with laptop", channel="D9", thread_ts=thread)
    await rig.answered("D9", thread)
    status = rig.slack.calls_to("assistant.threads.setStatus")
    assert status and status[0].args["status"] == "is thinking…" and status[0].args["thread_ts"] == thread
    assert rig.slack.calls_to("chat.startStream")[0].args["thread_ts"] == thread
    assert ts != thread


TICKET = {"summary": "Laptop screen flickers", "description": "Since this morning", "priority": "high",
          "category": "it"}


def proposal_buttons(rig, channel: str, thread_ts: str) -> tuple[str, dict]:
    """(message ts, actions block) of the Confirm/Cancel proposal in the thread."""
    for message in rig.slack.thread(channel, thread_ts):
        for block in message.blocks:
            if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("proposal:"):
                return message.ts, block
    raise AssertionError("no proposal with buttons in the thread")


async def test_confirm_button_creates_the_ticket_and_the_reply_names_it(rig, llm_server):
    llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)]))
    ts = await rig.mention("my laptop screen flickers, please open a ticket")
    await rig.answered("C1", ts)
    message_ts, actions = proposal_buttons(rig, "C1", ts)
    confirm, cancel = actions["elements"]
    assert (confirm["text"]["text"], cancel["text"]["text"]) == ("Confirm", "Cancel")
    assert "Laptop screen flickers" in rig.slack.messages[message_ts].text
    tickets = rig.runtime.tools.tickets
    assert await tickets.count() == 0  # nothing happens before the press

    await rig.click(confirm["action_id"], confirm["value"], "C1", message_ts, ts, user="U1",
                    block_id=actions["block_id"])
    text = await rig.answered("C1", ts, count=2)
    assert "DM-1001" in text and "Laptop screen flickers" in text  # the final message names the ticket
    ticket = await tickets.get("DM-1001", "slack", "T1")
    assert ticket is not None and ticket.user == "U1" and ticket.priority == "high"
    spent = rig.slack.messages[message_ts]  # the buttons are replaced by who chose what
    assert "Confirmed by <@U1>" in spent.text and not any(b["type"] == "actions" for b in spent.blocks)


async def test_another_users_confirm_creates_nothing_and_leaves_the_buttons(rig, llm_server):
    llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)]))
    ts = await rig.mention("please open a ticket for my screen", user="U1")
    await rig.answered("C1", ts)
    message_ts, actions = proposal_buttons(rig, "C1", ts)
    confirm = actions["elements"][0]

    await rig.click(confirm["action_id"], confirm["value"], "C1", message_ts, ts, user="U2",
                    block_id=actions["block_id"])
    text = await rig.answered("C1", ts, count=2)
    assert "only the person who asked" in text
    tickets = rig.runtime.tools.tickets
    assert await tickets.count() == 0
    assert proposal_buttons(rig, "C1", ts)[0] == message_ts  # still there for the person who asked

    await rig.click(confirm["action_id"], confirm["value"], "C1", message_ts, ts, user="U1",
                    block_id=actions["block_id"])
    assert "DM-1001" in await rig.answered("C1", ts, count=3)
    assert await tickets.count() == 1


async def test_escalation_posts_a_masked_note_in_the_escalation_channel(llm_server, monkeypatch, redis):
    async with slack_rig(llm_server, monkeypatch, DESKMATE_TOOLS__ESCALATION_TARGET="slack:C0HELP") as rig:
        llm_server.script("gpt-4o-mini", ToolCalls([("escalate_to_human", {"reason": "User asks for a person"})]))
        ts = await rig.mention("I'm locked out. Mail me at jane.cooper@contoso-mail.com or call +44 20 7946 0958, "
                               "I want to talk to a person")
        await rig.answered("C1", ts)
        message_ts, actions = proposal_buttons(rig, "C1", ts)
        assert rig.slack.channel_messages("C0HELP") == []  # nothing is sent before the user confirms
        confirm = actions["elements"][0]
        await rig.click(confirm["action_id"], confirm["value"], "C1", message_ts, ts, block_id=actions["block_id"])
        assert "someone will follow up" in await rig.answered("C1", ts, count=2)

        [note] = rig.slack.channel_messages("C0HELP")
        assert "Reason: User asks for a person" in note.text and "locked out" in note.text
        assert "jane.cooper@contoso-mail.com" not in note.text and "7946" not in note.text
        assert "&lt;EMAIL_1&gt;" in note.text and "&lt;PHONE_1&gt;" in note.text  # placeholders, escaped
        [stored] = await rig.runtime.tools.escalations.recent("slack", "T1")
        assert stored["delivered"] and stored["target"] == "slack:C0HELP"


async def test_socket_mode_answers_a_mention_acks_it_and_ignores_the_redelivery(llm_server, monkeypatch, redis):
    async with slack_rig(llm_server, monkeypatch, DESKMATE_SLACK__APP_TOKEN="xapp-test") as rig:
        assert [c.ok for c in rig.slack.calls_to("apps.connections.open")] == [True]  # with the xapp- token
        assert await rig.platform.ready()
        llm_server.script("gpt-4o-mini", Reply(ANSWER))
        ts = rig.next_ts()
        event = {"type": "app_mention", "user": "U1", "text": "<@UBOT> my vpn is broken", "ts": ts,
                 "channel": "C1", "team": "T1", "event_ts": ts}
        await rig.socket_event(event, "EvSocket1")  # acknowledged over the socket at once
        assert await rig.answered("C1", ts) == ANSWER
        asked = len(llm_server.requests)
        await rig.socket_event(event, "EvSocket1", retry_attempt=1)  # Slack redelivers the same event
        await asyncio.sleep(0.5)
        await rig.idle()
        assert len(rig.slack.calls_to("chat.startStream")) == 1 and len(llm_server.requests) == asked
        async with rig.session.post(rig.url, data=b"{}") as resp:
            assert resp.status == 404  # in Socket Mode nothing listens for HTTP events
