"""The clock of one answer: the fallback chain's shared budget counts from when the answer started.

The worker that takes a message calls `start_answer()` (core/ops/queue.py) before the engine runs, so the time
the stages before the model spend (masking, cache, retrieval) comes out of the same budget: with every model
hanging, the user's first visible text comes `answer_deadline_s` after the answer started, not after that
plus the stages. Once a model has started answering, later requests of the same answer (tool rounds) get a
budget of their own (their text cannot be replaced by the retrieval-only answer any more). Without a clock
(the console, a direct gateway call) the budget counts from the request.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class AnswerClock:
    started: float = field(default_factory=time.monotonic)
    answered: bool = False


_CLOCK: ContextVar[AnswerClock | None] = ContextVar("deskmate_answer_clock", default=None)


def start_answer() -> AnswerClock:
    """Start the clock for the answer run in the current task (its context)."""
    clock = AnswerClock()
    _CLOCK.set(clock)
    return clock


def budget_start() -> float:
    """When the current request's budget started (monotonic)."""
    clock = _CLOCK.get()
    return clock.started if clock is not None and not clock.answered else time.monotonic()


def mark_answered() -> None:
    clock = _CLOCK.get()
    if clock is not None:
        clock.answered = True
