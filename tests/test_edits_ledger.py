"""The question ledger and the memory it edits, on the real embedded Redis: one decision per edit however many
receivers see it, a bad window setting stops start-up, a forgotten exchange leaves the window intact."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from bots.settings import load_settings
from core.edits.ledger import QuestionLedger, as_edit
from core.edits.settings import EditSettings
from core.errors import ConfigError
from core.llm.gateway import LiteLLMGateway
from core.llm.settings import LLMSettings
from core.memory.settings import MemorySettings
from core.memory.window import ConversationMemory
from core.prompts import PromptLibrary, builtin_prompts_dir
from tests.support.runtime import inbound


def question(text: str, user: str = "U1", **extras: object):
    return inbound(text, platform="slack", user=user, extras={"question": "C1:100.000001", **extras})


def memory_on(redis: aioredis.Redis, **settings: int) -> ConversationMemory:
    return ConversationMemory(redis, MemorySettings(**settings), LiteLLMGateway(LLMSettings(), redis),
                              PromptLibrary.load(builtin_prompts_dir()))


@pytest.mark.parametrize("value", ["-1", "86401", "ten minutes"])
def test_an_invalid_window_stops_start_up_naming_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DESKMATE_EDITS__WINDOW_S", value)
    with pytest.raises(ConfigError, match="DESKMATE_EDITS__WINDOW_S"):
        load_settings()


async def test_twenty_receivers_seeing_one_edit_decide_once(redis: aioredis.Redis) -> None:
    ledger = QuestionLedger(redis, EditSettings(), b"k" * 32)
    await ledger.asked(question("how do I reset my password"), at=100.0)
    edit = question("how do I reset my VPN password")
    decisions = await asyncio.gather(*(ledger.edited(edit, at=130.0) for _ in range(20)))
    assert sorted(d.status for d in decisions) == ["ok"] + ["unchanged"] * 19
    assert as_edit(edit, 1).message_id == "C1:100.000001:v1"  # one queue entry per version


async def test_what_an_edit_does_depends_on_who_when_and_what(redis: aioredis.Redis) -> None:
    ledger = QuestionLedger(redis, EditSettings(window_s=600), b"k" * 32)
    assert (await ledger.edited(question("never asked"), at=1.0)).status == "unknown"
    await ledger.asked(question("where is my laptop"), at=100.0)
    assert (await ledger.edited(question("where is my laptop charger", user="U2"), at=110.0)).status == "other_user"
    assert (await ledger.edited(question("where is my laptop  "), at=110.0)).status == "unchanged"
    assert (await ledger.edited(question("   "), at=110.0)).status == "empty"
    assert (await ledger.edited(question("where is my laptop bag"), at=701.0)).status == "too_late"
    assert (await ledger.edited(question("where is my laptop bag"), at=200.0)).status == "ok"
    assert (await ledger.edited(question("where is my mouse"), at=150.0)).status == "stale"  # older, came late
    deletion = await ledger.deleted("slack", "T1", "C1:100.000001")
    assert deletion.status == "ok" and not deletion.busy
    assert (await ledger.deleted("slack", "T1", "C1:100.000001")).status == "already"
    assert (await ledger.edited(question("where is my mouse"), at=300.0)).status == "deleted"
    raw = str(await redis.hgetall("dm:question:slack:T1:C1:100.000001"))
    assert "laptop" not in raw and "mouse" not in raw  # the text is kept only as a keyed digest


async def test_forgetting_a_question_keeps_the_rest_of_the_window_in_order(redis: aioredis.Redis) -> None:
    memory = memory_on(redis, ttl_s=3600)
    await memory.append("c1", [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}],
                        question="C1:1")
    await memory.append("c1", [{"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}],
                        question="C1:2")
    await memory.append("c1", [{"role": "user", "content": "q2 edited"}, {"role": "assistant", "content": "b2"}],
                        question="C1:2")  # the edited question replaces its first exchange
    await memory.append("c1", [{"role": "user", "content": "q3"}, {"role": "assistant", "content": "a3"}])
    _, history = await memory.load("c1")
    assert [m["content"] for m in history] == ["q1", "a1", "q2 edited", "b2", "q3", "a3"]
    _, without = await memory.load("c1", without="C1:2")  # what the edit's own answer is given
    assert [m["content"] for m in without] == ["q1", "a1", "q3", "a3"]
    assert await memory.forget("c1", "C1:1") == 2
    assert 0 < await redis.ttl("dm:mem:c1") <= 3600  # the window keeps its expiry


async def test_forgetting_while_a_fold_runs_blanks_in_place(redis: aioredis.Redis) -> None:
    memory = memory_on(redis)
    for n in range(3):
        await memory.append("c2", [{"role": "user", "content": f"q{n}"}], question=f"C1:{n}")
    await redis.set("dm:memlock:c2", b"1")  # a fold holds the window: its LTRIM counts on the indices
    assert await memory.forget("c2", "C1:0") == 1
    assert await redis.llen("dm:mem:c2") == 3
    _, history = await memory.load("c2")
    assert [m["content"] for m in history] == ["q1", "q2"]


async def test_a_deletion_seen_after_the_answer_ended_still_gets_its_note(redis: aioredis.Redis) -> None:
    """The watcher may see the deletion after the stream's last event: no ending note went into the stream, so
    the adapter must add it (it used to be skipped: the Slack answer kept no "question was deleted")."""
    from core.edits.answering import Answering
    from core.models import Final, TextDelta

    ledger = QuestionLedger(redis, EditSettings(poll_s=0.02), b"k" * 32)
    asked = question("tell me a story")
    await ledger.asked(asked, at=100.0)

    async def answer():
        yield TextDelta(text="Once upon a time.")
        yield Final(reply_id="r1", text="Once upon a time.")

    async with Answering(ledger, asked, answer(), "en") as answering:
        seen = [event async for event in answering.events]
        deletion = await ledger.deleted("slack", "T1", "C1:100.000001")
        await asyncio.sleep(0.2)  # the watcher sees it now, after the stream's end
        answering.show({"ts": ["200.000001"]})
    assert [type(e).__name__ for e in seen] == ["TextDelta", "Final"]  # no ending: the answer had ended
    assert deletion.busy and answering.note_deleted


async def test_only_the_asker_or_an_admin_stops_an_answer_and_only_while_it_is_written(redis) -> None:
    ledger = QuestionLedger(redis, EditSettings(), b"k" * 32)
    asked = question("tell me everything")
    await ledger.asked(asked, at=100.0)
    ref = "C1:100.000001"
    assert await ledger.stop("slack", asked.tenant, ref, 0, "U1", admin=False) == "over"  # nothing being written
    token = await ledger.lock(asked)
    assert token is not None
    assert await ledger.stop("slack", asked.tenant, ref, 0, "U2", admin=False) == "not_yours"
    assert await ledger.stop("slack", asked.tenant, ref, 3, "U1", admin=False) == "over"  # a forged version
    assert await ledger.stop("slack", asked.tenant, "C1:999.000001", 0, "U1", admin=False) == "unknown"
    assert (await ledger.current(asked, token)).stopped is None
    assert await ledger.stop("slack", asked.tenant, ref, 0, "U2", admin=True) == "ok"
    assert (await ledger.current(asked, token)).stopped == 0
    await ledger.finish(asked, token, {"ts": ["1.1"]}, "en")
    assert await ledger.stop("slack", asked.tenant, ref, 0, "U1", admin=False) == "over"  # finished
