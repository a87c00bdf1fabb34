"""Between receiving a platform event and answering it: responders and the in-process dispatcher.

An adapter's receiving side normalizes an event into an `Inbound` and calls `dispatcher.submit`.
The answering side runs the engine and hands the event stream to the platform's `Responder`.
In-process this is one task per message; with a queue (see core/ops) the two sides can be
different processes, which is why a responder needs nothing but the `Inbound` to reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

import structlog

from core.engine import Engine
from core.models import Inbound, ReplyEvent

log = structlog.get_logger("deskmate.dispatch")


class Responder(Protocol):
    platform: str

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        """Render the whole stream natively. Must consume it to the end."""
        ...


class Dispatcher(Protocol):
    def register(self, responder: Responder) -> None: ...

    async def submit(self, inbound: Inbound) -> None: ...

    async def drain(self, timeout_s: float) -> None: ...


class InlineDispatcher:
    """Answer in this process, one task per message; `drain` waits for in-flight answers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.responders: dict[str, Responder] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    def register(self, responder: Responder) -> None:
        self.responders[responder.platform] = responder

    async def submit(self, inbound: Inbound) -> None:
        if not self.accepting:
            raise RuntimeError("dispatcher is shutting down")
        task = asyncio.create_task(self.answer(inbound), name=f"answer:{inbound.platform}:{inbound.message_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def answer(self, inbound: Inbound) -> None:
        responder = self.responders[inbound.platform]
        try:
            await responder.respond(inbound, self.engine.handle(inbound))
        except Exception as exc:
            log.exception("respond_failed", platform=inbound.platform, error=type(exc).__name__)

    async def drain(self, timeout_s: float) -> None:
        self.accepting = False
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout_s)
