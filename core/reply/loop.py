"""The one reply loop every platform uses: consume the engine's `ReplyEvent` stream, pace the visible
updates, split long answers, finish exactly once, and drain the stream when anything fails.

The loop knows the order; a `ReplySink` knows the platform's calls (the shape of bolt's `say_stream` and
aiogram's `BaseSession`). A sink previews the part being written (`preview`, may be refused with a wait),
makes a completed part permanent (`seal`), and writes the last part with what goes under it (`finish`).

Pacing ("smooth reveal"): the first text is shown at once; the second update comes `second_after_s` after the
first (so ~1 s after the first token the user sees everything received so far, not three characters); then
one update per `sink.interval_s` (or sooner when `sink.batch_chars` are waiting). A background flusher does
this, so a pause in the model's output never hides text already received. A sink that refuses a preview (its
shared rate budget is spent, or the platform said 429) returns how long to wait; the text received meanwhile
goes out with the next update, so batches grow exactly as much as the budget requires. The final part goes out
as soon as the terminal event (Final or Error) arrives, before the stages behind it store memory and cache;
only the sink's budget may hold it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from core.models import (
    Citation,
    CitationEvent,
    Error,
    Final,
    NeedsConfirmation,
    ReplyEvent,
    Status,
    TextDelta,
    ToolCall,
    ToolResult,
)
from core.reply.markdown import split_at

log = structlog.get_logger("deskmate.reply")


@dataclass
class ReplyOutcome:
    """What the stream said, for the sink's last call and the caller."""

    final: Final | None = None
    error: Error | None = None
    citations: list[Citation] = field(default_factory=list)
    proposals: list[NeedsConfirmation] = field(default_factory=list)
    tools: list[ToolResult] = field(default_factory=list)
    streamed: str = ""  # every TextDelta, concatenated
    last_text_at: float | None = None  # time.monotonic() of the last TextDelta (the model's last token)
    ended_at: float | None = None  # time.monotonic() when the terminal event (Final/Error) arrived

    def tail_ms(self) -> dict[str, float | None]:
        """For the sink's log line after `finish`: engine tail (last token -> stream end) and render tail
        (stream end -> the final platform call returned)."""
        now = time.monotonic()
        last, end = self.last_text_at, self.ended_at
        return {"engine_tail_ms": round((end - last) * 1000, 1) if last and end else None,
                "render_tail_ms": round((now - end) * 1000, 1) if end else None,
                "final_after_last_token_ms": round((now - last) * 1000, 1) if last else None}

    @property
    def sources(self) -> list[Citation]:
        return list(self.final.citations) if self.final is not None and self.final.citations else self.citations


class ReplySink(Protocol):
    """One platform's calls for one reply. Every method is called by the loop only, in order."""

    part_limit: int  # characters of answer text one message holds
    interval_s: float  # steady pause between previews; 0 = show every delta as it comes (console)
    batch_chars: int | None  # preview early once this many new characters wait (None: time only)

    async def begin(self) -> None:
        """Before the first event: typing indicator, "thinking" status."""

    async def status(self, status: Status) -> None:
        """A progress step from the engine (searching, asking for confirmation, calling a tool...). Best effort:
        the loop logs and ignores a failure, so progress never breaks the answer."""

    async def tool(self, event: ToolCall | ToolResult) -> None:
        """A tool call started or ended."""

    async def preview(self, part: str) -> float:
        """Show `part` (the whole text of the message being written). 0 = shown; > 0 = not shown, try again in
        that many seconds."""

    async def seal(self, part: str) -> None:
        """`part` is complete (the answer continues in a new message): make it permanent. Must land."""

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        """The last part, with sources, buttons, proposals. Must land. Called exactly once per reply, unless the
        stream or the sink failed."""

    async def close(self) -> None:
        """Always called last, after `finish` or a failure: stop indicators, release resources."""


class ReplyLoop:
    """Drive one sink with one event stream: `outcome = await ReplyLoop(sink).run(events)`."""

    def __init__(self, sink: ReplySink, *, second_after_s: float = 0.7) -> None:
        self.sink = sink
        self.second_after_s = second_after_s
        self.committed = ""  # source text already sealed into completed messages
        self.carry = ""  # what the current part starts with that is not source text (a reopened code fence)
        self.pending = ""  # text of the part being written (carry included)
        self.shown = ""  # what the last successful preview showed
        self.first_shown_at: float | None = None
        self.previews = 0
        self._paced_at = 0.0  # the next update by the pace
        self._refused_until = 0.0  # the sink refused a preview: not before this
        self._shown_len = 0  # len(pending) at the last successful preview
        self._finished = False
        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._lock = asyncio.Lock()  # one platform call of this reply at a time, in order
        self._flusher: asyncio.Task[None] | None = None

    # -- the run

    async def run(self, events: AsyncIterator[ReplyEvent]) -> ReplyOutcome:
        outcome = ReplyOutcome()
        try:
            await self.sink.begin()
            async for event in events:
                await self._on(event, outcome)
                if isinstance(event, Final | Error):
                    break  # the terminal event: nothing visible follows it (core/engine.py)
            outcome.ended_at = time.monotonic()
            await self._stop_flusher()
            await self._finish(outcome)
            # The user has the final text; the stages behind it (memory, cache, telemetry) end in the background
            # of this call, not in front of the final message.
            await drain(events)
        except BaseException:
            await self._stop_flusher()
            await drain(events)  # the stream must be consumed to the end (memory, cache, telemetry)
            raise
        finally:
            try:
                await self.sink.close()
            except Exception as exc:
                log.warning("reply_sink_close_failed", error=type(exc).__name__)
        return outcome

    async def _on(self, event: ReplyEvent, outcome: ReplyOutcome) -> None:
        if isinstance(event, TextDelta):
            outcome.streamed += event.text
            outcome.last_text_at = time.monotonic()
            await self._add(event.text)
        elif isinstance(event, Status):
            await self._status(event)
        elif isinstance(event, CitationEvent):
            outcome.citations.append(event.citation)
        elif isinstance(event, ToolCall | ToolResult):
            if isinstance(event, ToolResult):
                outcome.tools.append(event)
            await self.sink.tool(event)
        elif isinstance(event, NeedsConfirmation):
            outcome.proposals.append(event)
        elif isinstance(event, Final):
            outcome.final = event
        elif isinstance(event, Error):
            outcome.error = event

    async def _status(self, status: Status) -> None:
        """In order with the text (under the same lock), and never fatal. A sink that shows steps among the text
        (`text_before_status`, Slack's cards) first gets the text received so far, so a step lands after it."""
        try:
            async with self._lock:
                if getattr(self.sink, "text_before_status", False) and self.pending.strip() \
                        and self.pending != self.shown and self._refused_until <= time.monotonic():
                    await self._push()
                await self.sink.status(status)
        except Exception as exc:
            log.warning("reply_status_failed", error=type(exc).__name__, step=status.step)

    # -- streaming

    async def _add(self, text: str) -> None:
        if not text:
            return
        self.pending += text
        if self.sink.interval_s <= 0:  # show every delta as it comes, in order
            async with self._lock:
                await self._push()
            return
        if self._due_at() <= time.monotonic() and not self._lock.locked():
            try:  # due now (the first text, or a full batch): show it before reading on
                async with self._lock:
                    await self._push()
            except Exception as exc:
                log.warning("reply_preview_failed", error=type(exc).__name__)
                self._refused_until = time.monotonic() + max(self.sink.interval_s, 0.5)
        if self.pending != self.shown:
            self._dirty.set()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="reply-flush")

    def _due_at(self) -> float:
        paced = self._paced_at
        batch = self.sink.batch_chars
        if batch and len(self.pending) - self._shown_len >= batch:
            paced = 0.0
        return max(paced, self._refused_until)

    async def _flush_loop(self) -> None:
        while not self._closing.is_set():
            await self._dirty.wait()
            if self._closing.is_set():
                return
            delay = self._due_at() - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), timeout=delay)
                if self._closing.is_set():
                    return
                if self._due_at() > time.monotonic() + 0.001:
                    continue  # refused meanwhile (a later wait); look again
            self._dirty.clear()
            try:
                async with self._lock:
                    await self._push()
            except Exception as exc:  # the final text is sent by _finish(); a lost preview is not fatal
                log.warning("reply_preview_failed", error=type(exc).__name__)
                self._refused_until = time.monotonic() + max(self.sink.interval_s, 0.5)

    async def _push(self) -> None:
        await self._seal_overflow()
        if not self.pending.strip() or self.pending == self.shown:
            return
        text = self.pending
        wait = await self.sink.preview(text)
        now = time.monotonic()
        if wait > 0:
            self._refused_until = now + wait
            self._dirty.set()  # try again once the budget allows
            return
        self.shown, self._shown_len = text, len(text)
        self.previews += 1
        if self.first_shown_at is None:
            self.first_shown_at = now
            self._paced_at = now + min(self.second_after_s, self.sink.interval_s)
        else:
            self._paced_at = now + self.sink.interval_s

    def _sealed(self, consumed: int, reopen: str) -> None:
        self.committed += self.pending[len(self.carry):consumed]
        self.pending = reopen + self.pending[consumed:]  # text appended while sealing is kept
        self.carry = reopen
        self.shown, self._shown_len = "", 0

    async def _seal_overflow(self) -> None:
        while len(self.pending) > self.sink.part_limit:
            head, consumed, reopen = split_at(self.pending, self.sink.part_limit)
            await self.sink.seal(head)
            self._sealed(consumed, reopen)

    # -- the end

    async def _finish(self, outcome: ReplyOutcome) -> None:
        if self._finished:
            return
        self._finished = True
        async with self._lock:
            final = outcome.final
            if final is not None and final.text:
                if final.text.startswith(self.committed) and final.text != self.committed:
                    self.pending = self.carry + final.text[len(self.committed):]
                elif not self.committed and not outcome.streamed:
                    self.pending = final.text
            elif final is None and outcome.error is not None:
                # After what is shown, as it is: trimming its trailing space would take shown text back, which a
                # Slack stream cannot do (the note was then lost).
                gap = "" if self.pending.endswith("\n\n") else "\n" if self.pending.endswith("\n") else "\n\n"
                self.pending = f"{self.pending}{gap}{outcome.error.message}" if self.pending.strip() \
                    else outcome.error.message
            await self._seal_overflow()
            await self.sink.finish(self.pending, outcome)

    async def _stop_flusher(self) -> None:
        self._closing.set()
        self._dirty.set()
        if self._flusher is not None:
            flusher, self._flusher = self._flusher, None
            with contextlib.suppress(Exception):
                await flusher


async def drain(events: AsyncIterator[ReplyEvent]) -> None:
    """Consume what is left of a reply stream (its later stages still store memory, cache and telemetry)."""
    try:
        async for _ in events:
            pass
    except Exception:
        log.warning("reply_drain_failed")
