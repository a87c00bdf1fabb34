"""Between receiving a platform event and answering it: the `Dispatcher` and `Responder` ports.

An adapter's receiving side normalizes an event into an `Inbound` and calls `dispatcher.submit`.
The answering side runs the engine and hands the event stream to the platform's `Responder`.
There is one dispatcher, `core.ops.queue.RedisStreamDispatcher`: every message goes through a Redis
Stream, so receiving and answering can be different processes (`deskmate serve --role receiver|worker`),
which is why a responder needs nothing but the `Inbound` to reply. With `--role both` (the default)
the same process consumes what it queued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from core.models import Inbound, ReplyEvent


class Responder(Protocol):
    platform: str

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        """Render the whole stream natively. Must consume it to the end."""
        ...


class Dispatcher(Protocol):
    def register(self, responder: Responder) -> None: ...

    async def submit(self, inbound: Inbound) -> None: ...

    async def drain(self, timeout_s: float) -> None: ...
