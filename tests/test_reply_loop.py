"""The shared reply loop and its parts: budgets shared across workers (real Redis), every partial answer valid
for the platform, long answers cut at boundaries, and a failing platform call never leaves the stream unread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from adapters.slack.mrkdwn import stream_markdown, to_mrkdwn
from adapters.telegram.format import to_html
from core.models import Final, ReplyEvent, Status, TextDelta
from core.reply.budget import RateBudget, Scope
from core.reply.loop import ReplyLoop, ReplyOutcome
from core.reply.markdown import balance, open_fence, split_all
from tests.fakes.telegram_api import parse_html

TRICKY = (
    "Here is **how to fix it** with *care*, see [the guide](https://example.com/a?x=1&y=2) and `cmd --x`.\n\n"
    "1. First ~~old~~ new step\n2. Second step with a < b & c\n\n"
    "| Plan | Price |\n|---|---|\n| Basic | 5 |\n| Pro | 25 |\n\n"
    "```python\nprint('a ** b')\nx = [1](2)\n```\n\nДальше по-русски: **жирный** текст и _курсив_.")


async def test_two_workers_share_one_budget_and_a_429_blocks_the_scope(redis):
    one, two = RateBudget(redis), RateBudget(redis)  # two processes: two clients of the same Redis
    scope = [Scope("test:chat:1", rate=2.0, per_s=1.0, burst=2)]
    assert await one.try_take(scope, preview=False) == 0
    assert await two.try_take(scope, preview=False) == 0  # the burst of 2 is now used up, across both
    wait = await one.try_take(scope, preview=False)
    assert 0.3 < wait <= 0.5, "the third call waits for the shared bucket"
    await asyncio.sleep(wait + 0.02)
    assert await two.try_take(scope, preview=False) == 0
    await one.throttled(scope[0], retry_after_s=1.0)
    assert await two.try_take(scope, preview=False) >= 0.9, "after a 429 nobody calls the scope for retry_after"


async def test_previews_leave_the_last_slot_for_the_final_message(redis):
    budget = RateBudget(redis)
    scope = [Scope("test:chat:2", rate=1.0, per_s=1.0, burst=3)]
    assert await budget.try_take(scope, preview=True) == 0
    assert await budget.try_take(scope, preview=True) == 0
    assert await budget.try_take(scope, preview=True) > 0, "a third preview would spend the final's slot"
    started = time.monotonic()
    await budget.take(scope)  # the final message goes at once
    assert time.monotonic() - started < 0.2


def test_every_partial_answer_is_valid_telegram_html():
    seen = ""
    for n in range(1, len(TRICKY) + 1):
        seen = parse_html(to_html(balance(TRICKY[:n])))  # raises like Telegram on invalid entities
        assert "**" not in seen.split("print(")[0], "no raw bold markers while bold text streams"
    assert seen == parse_html(to_html(TRICKY))


def test_balance_closes_what_a_cut_left_open():
    assert balance("Use **bold") == "Use **bold**"
    assert balance("code:\n```py\nx = 1") == "code:\n```py\nx = 1\n```"
    assert balance("read [the guide](https://exa") == "read the guide"
    assert balance("dangling **") == "dangling"
    assert balance(TRICKY) == TRICKY, "a complete answer is left alone"


def test_slack_stream_never_takes_text_back_and_shows_tables_aligned():
    final = stream_markdown(TRICKY, final=True)
    for n in range(len(TRICKY) + 1):
        assert final.startswith(stream_markdown(TRICKY[:n], final=False)), n
    assert "| Plan |" not in final and "Basic  5" in final.replace("     ", "  ")
    assert "| Plan |" not in to_mrkdwn(TRICKY)
    telegram = parse_html(to_html(TRICKY))
    assert "| Plan |" not in telegram and "Basic  5" in telegram, "Telegram shows the table aligned too"


def test_long_answers_are_cut_at_boundaries_never_mid_word():
    code = "```sql\n" + "\n".join(f"select {i} from t;" for i in range(400)) + "\n```"
    prose = " ".join(f"word{i}" for i in range(900))
    text = f"Intro.\n\n{prose}\n\n{code}\n\nThe end, with **bold** text."
    parts = split_all(text, 4000)
    assert all(len(p) <= 4000 for p in parts)
    assert all(open_fence(p) is None for p in parts), "each part's code blocks are closed"
    joined = " ".join(parts)
    assert all(f"word{i} " in joined or f"word{i}\n" in joined for i in range(900)), "no word cut in two"
    assert "select 399 from t;" in parts[-1] or "select 399 from t;" in parts[-2]


class _FailingSink:
    """The platform side failing on its second call."""

    part_limit, interval_s, batch_chars = 4000, 0.0, None

    def __init__(self) -> None:
        self.calls = 0
        self.finished = 0
        self.closed = False

    async def begin(self) -> None: ...
    async def status(self, status: Status) -> None: ...
    async def tool(self, event: object) -> None: ...

    async def preview(self, part: str) -> float:
        self.calls += 1
        if self.calls == 2:
            raise ConnectionError("platform down")
        return 0.0

    async def seal(self, part: str) -> None: ...

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        self.finished += 1

    async def close(self) -> None:
        self.closed = True


async def test_a_failing_platform_call_still_drains_the_stream():
    consumed: list[str] = []

    async def events() -> AsyncIterator[ReplyEvent]:
        for word in ("one ", "two ", "three"):
            consumed.append(word)
            yield TextDelta(text=word)
        consumed.append("final")  # the engine stores memory and cache after the last token
        yield Final(reply_id="r1", text="one two three")

    sink = _FailingSink()
    with pytest.raises(ConnectionError):
        await ReplyLoop(sink).run(events())
    assert consumed == ["one ", "two ", "three", "final"]
    assert sink.closed and sink.finished == 0


class _StatusDownSink(_FailingSink):
    """The platform's progress call failing every time (e.g. Slack refusing task cards); text calls work."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = ""

    async def status(self, status: Status) -> None:
        raise ConnectionError("status endpoint down")

    async def preview(self, part: str) -> float:
        self.shown = part
        return 0.0

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        self.shown = part
        self.finished += 1


async def test_a_failing_status_call_never_costs_the_answer():
    async def events() -> AsyncIterator[ReplyEvent]:
        yield Status(text="Searching the knowledge base…", step="kb")
        yield TextDelta(text="Restart ")
        yield Status(text="Searching the knowledge base…", step="kb", state="done")
        yield TextDelta(text="the VPN client.")
        yield Final(reply_id="r1", text="Restart the VPN client.")

    sink = _StatusDownSink()
    outcome = await ReplyLoop(sink).run(events())
    assert outcome.final is not None and sink.finished == 1 and sink.closed
    assert sink.shown == "Restart the VPN client."


class _OrderSink(_StatusDownSink):
    def __init__(self, order: list[str], release: asyncio.Event) -> None:
        super().__init__()
        self.order, self.release = order, release

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        await super().finish(part, outcome)
        self.order.append("final shown")
        self.release.set()


async def test_the_final_text_goes_out_before_the_stages_behind_it_have_stored_memory_and_cache():
    """The engine's stages write memory and the cache after they yield the Final (tens of ms: masking checks,
    Redis, the embedder). The user must not wait for that: the last text lands first, the writes still finish
    before the loop returns."""
    order: list[str] = []
    release = asyncio.Event()

    async def events() -> AsyncIterator[ReplyEvent]:
        yield TextDelta(text="Restart the VPN client.")
        yield Final(reply_id="r1", text="Restart the VPN client.")
        order.append("stores started")
        await release.wait()  # stands for the memory and cache writes; only the final's delivery releases it
        order.append("stores done")

    sink = _OrderSink(order, release)
    async with asyncio.timeout(5):  # the old loop finished only after the stream ended: it waited here forever
        outcome = await ReplyLoop(sink).run(events())
    assert order == ["final shown", "stores started", "stores done"]
    assert sink.shown == "Restart the VPN client." and sink.finished == 1 and sink.closed
    assert outcome.final is not None
