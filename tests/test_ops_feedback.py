"""Thumbs up/down joined with each reply's facts; `deskmate report` totals; prompt A/B comparison."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bots.commands import report
from bots.composition import open_runtime
from core.models import Action, Final
from core.prompts import PromptLibrary
from tests.support.queue import RecordingResponder, ask_queued, inbound, ops_settings
from tests.support.runtime import admin_context


def report_args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    report.register(parser.add_subparsers())
    argv = ["report"]
    for name, value in kw.items():
        argv += [f"--{name}", str(value)]
    return parser.parse_args(argv)


async def run_report(settings, capsys: pytest.CaptureFixture[str], **kw) -> str:
    capsys.readouterr()
    assert await report.run(report_args(**kw), settings) == 0
    return capsys.readouterr().out


async def test_report_totals_equal_the_stored_feedback(tmp_path: Path, redis: aioredis.Redis, llm_server,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    settings = ops_settings(tmp_path, redis, llm_server)
    users = [f"user{n}" for n in range(12)]
    async with open_runtime(settings) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        sink = runtime.ops.feedback.submit
        finals: dict[str, Final] = {}
        for user in users:
            final = await ask_queued(runtime, responder, inbound("How do I get a refund?", user=user, bot="support"))
            assert isinstance(final, Final)
            finals[user] = final
        await runtime.dispatcher.drain(5)
        # votes: even users up, odd users down; user0 changes their mind (up -> down): one vote counts
        expected = {}
        for n, user in enumerate(users):
            value = "up" if n % 2 == 0 else "down"
            await sink(finals[user].reply_id, user, value, {"platform": "test", "tenant": "T1"})
            expected[user] = value
        await sink(finals["user0"].reply_id, "user0", "down", {})
        expected["user0"] = "down"
        with pytest.raises(ValueError):
            await sink(finals["user1"].reply_id, "user1", "sideways", {})
        stats = await runtime.admin.handle(admin_context(runtime, bot="support"), "stats")
        ups = sum(v == "up" for v in expected.values())
        downs = len(expected) - ups
        assert f"feedback: {ups} 👍 / {downs} 👎" in stats.text

    out = await run_report(settings, capsys, format="csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    prompt_rows = [r for r in rows if r["group"] == "prompt"]
    model_rows = [r for r in rows if r["group"] == "model"]
    assert sum(int(r["up"]) for r in prompt_rows) == ups == sum(int(r["up"]) for r in model_rows)
    assert sum(int(r["down"]) for r in prompt_rows) == downs
    assert sum(int(r["replies"]) for r in prompt_rows) == len(users)
    total_cost = sum(f.usage.cost_usd for f in finals.values())
    assert sum(float(r["cost_usd"]) for r in model_rows) == pytest.approx(total_cost, abs=1e-5)
    (model_row,) = model_rows
    assert model_row["key"] == "openai/gpt-4o-mini"
    # per prompt version: exactly the users the A/B split sent there, with their votes
    for row in prompt_rows:
        name, version = row["key"].split("@")
        assert name == "support"
        members = [u for u in users if finals[u].prompt_version == version]
        assert int(row["replies"]) == len(members)
        assert int(row["up"]) == sum(expected[u] == "up" for u in members)
    # the terminal table says the same
    table = await run_report(settings, capsys)
    assert "support@v1" in table and "openai/gpt-4o-mini" in table and "satisfaction" in table
    # an empty range
    empty = await run_report(settings, capsys, since="2001-01-01", until="2001-01-02")
    assert "No replies or feedback in this range." in empty


async def test_prompt_ab_assignment_is_sticky_and_split(tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server)
    async with open_runtime(settings) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        seen: dict[str, set[str]] = {}
        for round_no in range(2):
            for n in range(8):
                final = await ask_queued(runtime, responder, inbound(f"question {round_no}", user=f"ab{n}", bot="support"))
                assert isinstance(final, Final)
                seen.setdefault(f"ab{n}", set()).add(final.prompt_version)
        await runtime.dispatcher.drain(5)
    assert all(len(v) == 1 for v in seen.values())  # sticky per user
    profile = runtime.profiles["support"]
    split = {PromptLibrary.select_version(profile, f"test:user{n}") for n in range(200)}
    assert split == {"v1", "v2"}


async def test_feedback_on_an_unknown_reply_is_kept_with_what_is_known(tmp_path: Path, redis: aioredis.Redis,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    settings = ops_settings(tmp_path, redis)
    async with open_runtime(settings) as runtime:
        press = inbound("", platform="slack", tenant="T9", user="U9",
                        action=Action(kind="feedback_down", ref="gone-reply"))
        assert await runtime.engine.feedback(press)
    out = await run_report(settings, capsys, format="csv", by="model")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["key"], r["down"], r["replies"]) for r in rows] == [("unknown", "1", "0")]


async def test_a_press_on_another_tenants_reply_is_refused(tmp_path: Path, redis: aioredis.Redis, llm_server) -> None:
    """A reply id is not a capability: a user of workspace T2 who learns T1's reply id cannot vote on it (nor
    evict T1's cached answer with a thumbs-down)."""
    settings = ops_settings(tmp_path, redis, llm_server)
    async with open_runtime(settings) as runtime:
        responder = RecordingResponder()
        runtime.dispatcher.register(responder)
        final = await ask_queued(runtime, responder, inbound("How do I get a refund?", bot="support", tenant="T1"))
        assert isinstance(final, Final)
        down = Action(kind="feedback_down", ref=final.reply_id)
        assert not await runtime.engine.feedback(inbound("", tenant="T2", user="X", action=down))
        assert not await runtime.engine.feedback(inbound("", platform="slack", tenant="T1", user="X", action=down))
        assert await runtime.ops.feedback.vote(final.reply_id, "X") is None
        assert await runtime.engine.feedback(inbound("", tenant="T1", user="U1", action=down))
        vote = await runtime.ops.feedback.vote(final.reply_id, "U1")
        assert vote is not None and vote.value == "down"
