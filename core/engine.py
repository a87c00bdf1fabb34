"""The engine: an ordered chain of stages around a terminal stage, producing a ReplyEvent stream.

Each stage is an "onion" layer: it gets the Turn and `call_next`, may work before calling it,
may short-circuit (yield its own events and not call next), and may transform or observe the
events flowing back out (PII restore, cache store, memory append). The order is set by whoever
builds the Engine (see `bots/composition.py`), in one place.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Protocol

import structlog

from core.errors import DeskmateError, InputRejected, PolicyBlocked
from core.language import reply_language
from core.models import Error, Final, Inbound, ReplyEvent, TextDelta
from core.profile import BotProfile
from core.texts import text
from core.turn import Turn

log = structlog.get_logger("deskmate.engine")

Next = Callable[[Turn], AsyncIterator[ReplyEvent]]


class Stage(Protocol):
    name: str

    def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]: ...


class Terminal(Protocol):
    name: str

    def run(self, turn: Turn) -> AsyncIterator[ReplyEvent]: ...


class Observer(Protocol):
    """Telemetry hooks (logs, metrics, traces). Must be cheap and must never raise."""

    def stage_started(self, turn: Turn, stage: str) -> None: ...

    def stage_finished(self, turn: Turn, stage: str, self_s: float, error: BaseException | None) -> None: ...

    def reply_finished(self, turn: Turn, terminal: Final | Error) -> None: ...


class LogObserver:
    """One structured log event per stage and one per reply; never message text."""

    def stage_started(self, turn: Turn, stage: str) -> None:
        return None

    def stage_finished(self, turn: Turn, stage: str, self_s: float, error: BaseException | None) -> None:
        log.info(
            "stage", request_id=turn.reply_id, stage=stage, latency_ms=round(self_s * 1000, 3),
            error=type(error).__name__ if error else None,
        )

    def reply_finished(self, turn: Turn, terminal: Final | Error) -> None:
        total = time.perf_counter() - turn.started
        ttft = (turn.first_token_at - turn.started) if turn.first_token_at else None
        log.info(
            "reply", request_id=turn.reply_id, platform=turn.inbound.platform, tenant=turn.inbound.tenant,
            bot=turn.profile.name, outcome=terminal.type, code=getattr(terminal, "code", None),
            total_ms=round(total * 1000, 2), ttft_ms=round(ttft * 1000, 2) if ttft is not None else None,
            model=turn.model, prompt=turn.prompt_name, prompt_version=turn.prompt_version,
            prompt_tokens=turn.usage.prompt_tokens, completion_tokens=turn.usage.completion_tokens,
            usage_estimated=turn.usage.estimated,
            cost_usd=turn.usage.cost_usd, cache_hit=turn.cached, retrieval_only=turn.retrieval_only,
            used_tools=turn.used_tools, **turn.facts,
        )


class FeedbackRecorder(Protocol):
    async def record(self, inbound: Inbound) -> bool: ...


class Engine:
    def __init__(
        self,
        stages: Sequence[Stage],
        terminal: Terminal,
        profiles: Mapping[str, BotProfile],
        observers: Sequence[Observer] = (),
        feedback: FeedbackRecorder | None = None,
    ) -> None:
        self.stages = tuple(stages)
        self.terminal = terminal
        self.profiles = dict(profiles)
        self.observers = tuple(observers) or (LogObserver(),)
        self.feedback_store = feedback
        self._chain = self._build()

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The stages in the order a message passes them, the terminal last (as docs/architecture.md lists them)."""
        return (*(stage.name for stage in self.stages), self.terminal.name)

    async def feedback(self, inbound: Inbound) -> bool:
        """Record a 👍/👎 press (`inbound.action` feedback_up/feedback_down, ref = the reply id): the one place
        feedback is recorded, whatever the platform. False when refused (another tenant's reply) or not kept."""
        if self.feedback_store is None:
            log.info("feedback_not_kept", platform=inbound.platform)
            return False
        return await self.feedback_store.record(inbound)

    def _build(self) -> Next:
        chain: Next = self._timed_terminal()
        for stage in reversed(self.stages):
            chain = self._timed(stage, chain)
        return chain

    def _timed_terminal(self) -> Next:
        terminal = self.terminal

        async def run(turn: Turn) -> AsyncIterator[ReplyEvent]:
            for o in self.observers:
                o.stage_started(turn, terminal.name)
            t0 = time.perf_counter()
            error: BaseException | None = None
            events = terminal.run(turn)
            try:
                async for event in events:
                    yield event
            except BaseException as exc:
                error = exc
                raise
            finally:
                await _close(events)  # a reply cut before its end: the model call is closed now, not at GC
                for o in self.observers:
                    o.stage_finished(turn, terminal.name, time.perf_counter() - t0, error)

        return run

    def _timed(self, stage: Stage, nxt: Next) -> Next:
        async def run(turn: Turn) -> AsyncIterator[ReplyEvent]:
            for o in self.observers:
                o.stage_started(turn, stage.name)
            t0 = time.perf_counter()
            self_time: list[float] = []
            inner: list[AsyncIterator[ReplyEvent]] = []

            async def call_next_events(t: Turn) -> AsyncIterator[ReplyEvent]:
                self_time.append(time.perf_counter() - t0)
                downstream = nxt(t)
                inner.append(downstream)
                async for event in downstream:
                    yield event

            def call_next(t: Turn) -> AsyncIterator[ReplyEvent]:
                events = call_next_events(t)
                inner.append(events)
                return events

            error: BaseException | None = None
            events = stage.run(turn, call_next)
            try:
                async for event in events:
                    yield event
            except BaseException as exc:
                error = exc
                raise
            finally:
                # A reply cut before its end (this generator closed at a yield): `async for` does not close what it
                # iterates, so the stage and everything below it are closed here, outermost first, down to the
                # model call (otherwise they would be closed only when collected, and the model kept streaming).
                for opened in (events, *inner):
                    await _close(opened)
                spent = self_time[0] if self_time else time.perf_counter() - t0
                turn.timings[stage.name] = spent
                for o in self.observers:
                    o.stage_finished(turn, stage.name, spent, error)

        return run

    def new_turn(self, inbound: Inbound) -> Turn:
        profile = self.profiles.get(inbound.bot)
        if profile is None:
            raise KeyError(f"unknown bot profile {inbound.bot!r}")
        return Turn(
            inbound=inbound, profile=profile, reply_id=uuid.uuid4().hex, text=inbound.text,
            language=reply_language(inbound.text, profile.language),  # the message's language, not the UI's
        )

    @staticmethod
    async def _cut(turn: Turn) -> None:
        """The reply was cut before its end (the stream closed, or its task cancelled): the stages' `turn.on_cut`
        hooks run here, at once (the nested stage generators are only closed later, by the event loop)."""
        for hook in turn.on_cut:
            try:
                await hook()
            except Exception as exc:
                log.warning("cut_hook_failed", request_id=turn.reply_id, error=type(exc).__name__)

    async def handle(self, inbound: Inbound) -> AsyncIterator[ReplyEvent]:
        """Answer one inbound message. The stream always ends with exactly one Final or Error."""
        turn = self.new_turn(inbound)
        terminal: Final | Error | None = None
        chain = self._chain(turn)
        try:
            async for event in chain:
                if terminal is not None:
                    continue  # nothing may follow the terminal event
                if isinstance(event, TextDelta) and turn.first_token_at is None:
                    turn.first_token_at = time.perf_counter()
                if isinstance(event, (Final, Error)):
                    terminal = event
                yield event
        except (GeneratorExit, asyncio.CancelledError):
            await _close(chain)  # the stages and the model call end now (see _timed)
            await self._cut(turn)
            raise
        except (InputRejected, PolicyBlocked) as exc:
            log.info("refused", request_id=turn.reply_id, code=exc.code, reason=exc.reason)
            terminal = Error(code=exc.reason, message=text(exc.reason, turn.language, **exc.params),
                             reply_id=turn.reply_id)
            yield terminal
        except DeskmateError as exc:
            log.warning("engine_error", request_id=turn.reply_id, code=exc.code, error=type(exc).__name__)
            terminal = Error(code=exc.code, message=text(exc.code, turn.language), reply_id=turn.reply_id)
            yield terminal
        except Exception as exc:
            log.exception("engine_crash", request_id=turn.reply_id, error=type(exc).__name__)
            terminal = Error(code="internal", message=text("internal", turn.language), reply_id=turn.reply_id)
            yield terminal
        if terminal is None:
            log.error("no_terminal_event", request_id=turn.reply_id)
            terminal = Error(code="internal", message=text("internal", turn.language), reply_id=turn.reply_id)
            yield terminal
        for o in self.observers:
            o.reply_finished(turn, terminal)


async def _close(events: AsyncIterator[ReplyEvent]) -> None:
    """Close an event generator at once (a no-op when it has finished); what it raises on the way is logged."""
    aclose = getattr(events, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception as exc:
        log.warning("stage_close_failed", error=type(exc).__name__)
