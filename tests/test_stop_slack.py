"""Stop in Slack, end to end: signed events and block_actions in Slack's wire format to the app, the real engine
and Redis, a fake Slack Web API and a fake LLM. An answer being written has a Stop button under it in the thread;
an app declared as an agent uses Slack's own stop (agent_session_stopped)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from adapters.slack.stop import STOP
from tests.fakes.llm_server import Reply
from tests.fakes.slack_api import slack_rig, wait_for

LONG = " ".join(f"word{i}" for i in range(300)) + "."
STOPPED = "Stopped."


@pytest.fixture
async def rig(llm_server, monkeypatch, redis):
    async with slack_rig(llm_server, monkeypatch) as rig:
        yield rig


def stop_button(rig, channel: str, ts: str) -> tuple[str, str] | None:
    """(the Stop message's ts, the button's value) in the thread, or None."""
    for message in rig.slack.thread(channel, ts):
        for block in message.blocks:
            for element in block.get("elements") or []:
                if element.get("action_id") == STOP:
                    return message.ts, str(element["value"])
    return None


def ephemerals(rig, user: str) -> list[str]:
    return [str(c.args.get("text")) for c in rig.slack.calls_to("chat.postEphemeral") if c.args.get("user") == user]


async def history(rig, ts: str, channel: str = "C1") -> list[dict[str, Any]]:
    _, messages = await rig.runtime.memory.load(f"slack:T1:{channel}:{ts}")
    return messages


async def streaming(rig, text: str = "tell me everything") -> tuple[str, str, str]:
    ts = await rig.mention(text)
    await wait_for(lambda: "word5" in rig.slack.thread_text("C1", ts))  # the model's answer is streaming
    assert stop_button(rig, "C1", ts) is not None
    button_ts, value = stop_button(rig, "C1", ts)  # type: ignore[misc]
    return ts, button_ts, value


async def test_the_asker_stops_the_answer_with_the_button(rig, llm_server):
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.03))
    ts, button_ts, value = await streaming(rig)
    await rig.click(STOP, value, "C1", button_ts, ts, user="U1")
    await rig.idle()
    await wait_for(lambda: llm_server.streams_cut == 1)
    sent = llm_server.chunks_sent
    await asyncio.sleep(0.3)  # ten more chunks' time: the provider stream stays closed

    [message] = rig.slack.thread("C1", ts)  # the Stop message went with the answer's end
    assert message.text.rstrip().endswith(STOPPED) and "word0" in message.text and "word299" not in message.text
    assert llm_server.streams_completed == 0 and llm_server.chunks_sent == sent < 300
    assert not ephemerals(rig, "U1")
    memory = await history(rig, ts)
    assert memory[0]["content"] == "tell me everything"
    assert memory[1]["content"].startswith("word0") and "word299" not in memory[1]["content"]


async def test_someone_else_cannot_stop_it_but_a_workspace_admin_can(rig, llm_server):
    rig.slack.add_user("U9", admin=True)
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.03))
    ts, button_ts, value = await streaming(rig)
    await rig.click(STOP, value, "C1", button_ts, ts, user="U2")
    await wait_for(lambda: bool(ephemerals(rig, "U2")))
    await asyncio.sleep(0.6)  # two polls of the answer: it must go on
    assert STOPPED not in rig.slack.thread_text("C1", ts)
    await rig.click(STOP, value, "C1", button_ts, ts, user="U9")
    await rig.idle()

    assert ephemerals(rig, "U2") == ["Only the person who asked (or an admin) can stop this answer."]
    [message] = rig.slack.thread("C1", ts)
    assert message.text.rstrip().endswith(STOPPED) and "word299" not in message.text


async def test_stop_after_the_end_changes_nothing(rig, llm_server):
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.005))
    ts, button_ts, value = await streaming(rig)
    text = await rig.answered("C1", ts)
    assert stop_button(rig, "C1", ts) is None  # the button is gone with the answer's end
    calls = len(rig.slack.calls)
    await rig.click(STOP, value, "C1", button_ts, ts, user="U1")
    await wait_for(lambda: bool(ephemerals(rig, "U1")))
    await asyncio.sleep(0.5)
    await rig.idle()

    assert ephemerals(rig, "U1") == ["This answer has already finished."]
    assert rig.slack.thread_text("C1", ts) == text and "word299" in text and STOPPED not in text
    assert [c.method for c in rig.slack.calls[calls:]] == ["chat.postEphemeral"]
    assert "word299" in (await history(rig, ts))[1]["content"]


async def test_a_stopped_answer_is_never_served_from_the_cache(rig, llm_server):
    llm_server.script("gpt-4o-mini", Reply(LONG + " [1]", chunk_delay_s=0.03), Reply("The full answer [1]."))
    ts, button_ts, value = await streaming(rig, "how do I connect to the VPN from home")
    await rig.click(STOP, value, "C1", button_ts, ts, user="U1")
    await rig.idle()
    again = await rig.mention("how do I connect to the VPN from home", channel="C2")
    text = await rig.answered("C2", again)

    assert text.startswith("The full answer") and STOPPED not in text
    assert len(llm_server.requests_for("gpt-4o-mini")) == 2


async def test_slacks_own_stop_for_an_agent_session(llm_server, monkeypatch, redis):
    llm_server.script("gpt-4o-mini", Reply(LONG, chunk_delay_s=0.03))
    async with slack_rig(llm_server, monkeypatch, DESKMATE_SLACK__AGENT_SESSIONS="true") as rig:
        ts = await rig.mention("tell me everything")
        await wait_for(lambda: len(rig.slack.thread_text("C1", ts)) > 30)
        statuses = [c.args.get("status") for c in rig.slack.calls_to("agents.sessions.setStatus")]
        streamed = [c for c in rig.slack.calls_to("chat.startStream") if c.ok]
        event_ts = f"{time.time():.6f}"
        resp = await rig.event({"type": "agent_session_stopped", "channel": "C1", "thread_ts": ts, "user": "U1",
                                "streaming_message_ts": [json.dumps(len(streamed))], "event_ts": event_ts})
        assert resp.status == 200
        await rig.idle()
        [message] = rig.slack.thread("C1", ts)
        final = [c.args.get("status") for c in rig.slack.calls_to("agents.sessions.setStatus")]

    assert statuses == ["processing"] and final == ["processing", "active"]
    assert message.text.rstrip().endswith(STOPPED) and "word299" not in message.text
    assert stop_button(rig, "C1", ts) is None and not rig.slack.calls_to("chat.delete")  # no button of our own
    assert llm_server.streams_completed == 0


async def test_a_stop_before_the_model_has_written_anything(llm_server, monkeypatch, redis):
    """Slack shows its stop as soon as the session is `processing`: a press while the model has not answered yet
    ends the answer with *Stopped.* and no model text, and the model's request is cut."""
    llm_server.script("gpt-4o-mini", Reply(LONG, ttft_s=2.0, chunk_delay_s=0.03))
    async with slack_rig(llm_server, monkeypatch, DESKMATE_SLACK__AGENT_SESSIONS="true") as rig:
        ts = await rig.mention("tell me everything")
        await wait_for(lambda: [c.args.get("status") for c in rig.slack.calls_to("agents.sessions.setStatus")]
                       == ["processing"])
        await wait_for(lambda: len(llm_server.requests_for("gpt-4o-mini")) == 1)
        started = time.monotonic()
        resp = await rig.event({"type": "agent_session_stopped", "channel": "C1", "thread_ts": ts, "user": "U1",
                                "event_ts": f"{time.time():.6f}"})
        assert resp.status == 200
        await wait_for(lambda: STOPPED in rig.slack.thread_text("C1", ts))
        stopped_after = time.monotonic() - started
        await rig.idle()
        text = rig.slack.thread_text("C1", ts)
        final = [c.args.get("status") for c in rig.slack.calls_to("agents.sessions.setStatus")]
        await wait_for(lambda: llm_server.streams_cut == 1, within_s=5)  # the model's request was hung up on

    assert "word0" not in text and text.strip().endswith(STOPPED)
    assert stopped_after < 2.0  # it did not wait for the model's first token
    assert final == ["processing", "active"]
    assert llm_server.streams_completed == 0 and llm_server.chunks_sent == 0
