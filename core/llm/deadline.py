"""The clock of one answer: the fallback chain's shared budget counts from when the answer started.

The worker that takes a message calls `start_answer()` (core/ops/queue.py) before the engine runs, so the time
the stages before the model spend (masking, cache, retrieval) comes out of the same budget: with every model
hanging, the user's first visible text comes `answer_deadline_s` after the answer started, not after that
plus the stages. Once a model has started answering, later requests of the same answer (tool rounds) get a
budget of their own (their text cannot be replaced by the retrieval-only answer any more). Without a clock
(the console, a direct gateway call) the budget counts from the request.

The budget is for the user's *visible* text, so two things come out of it structurally:
  the time the message waited before a worker took it (from `Inbound.received_at`, at most QUEUE_CREDIT_S, so a
  backlog or a clock skew between receiver and worker never leaves the models no time at all);
  FALLBACK_RESERVE_S at the end: the models stop that much before the deadline, so the retrieval-only answer is
  built and on the platform by the deadline, not after it.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field


class FirstTokenTimeout(Exception):
    """A model accepted the request and sent no first token in time."""


class IdleTimeout(Exception):
    """A model stopped sending between chunks."""


class DeadlineSpent(Exception):
    """The answer's shared budget ran out while this model had not started: not the model's fault alone."""


@dataclass
class AnswerClock:
    started: float = field(default_factory=time.monotonic)
    answered: bool = False


_CLOCK: ContextVar[AnswerClock | None] = ContextVar("deskmate_answer_clock", default=None)


QUEUE_CREDIT_S = 1.0  # at most this much of the wait before pickup comes out of the answer's budget
FALLBACK_RESERVE_S = 0.3  # the models' share of the budget ends this long before the deadline


def start_answer(received_at: float | None = None) -> AnswerClock:
    """Start the clock for the answer run in the current task (its context); `received_at` (wall clock, when the
    platform's message arrived) moves the start back by the time it waited, up to QUEUE_CREDIT_S."""
    waited = min(max(0.0, time.time() - received_at), QUEUE_CREDIT_S) if received_at else 0.0
    clock = AnswerClock(started=time.monotonic() - waited)
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
