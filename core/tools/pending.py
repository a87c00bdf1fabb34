"""Long-running tool work: the tool returns at once with `ToolOutput(pending=<coroutine>)`; the work runs
as a background task in this process and its result is posted into the same conversation when done.

Posting goes through a `FollowUpPoster`; the default one hands a one-message reply stream to the
platform's registered `Responder` (the same renderer normal answers use), so it needs nothing but
the original `Inbound`. Limitation: the task lives in this worker's memory; if the process stops
first, the result is lost (the audit shows the call as `pending` without a completion).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol

import structlog

from core.models import Final, Inbound, ReplyEvent, TextDelta
from core.texts import text
from core.tools.audit import ToolAudit

log = structlog.get_logger("deskmate.tools.pending")


class FollowUpPoster(Protocol):
    async def post(self, inbound: Inbound, text: str) -> None: ...


class ResponderPoster:
    """Posts through the dispatcher's responder for the inbound's platform."""

    def __init__(self, responders: Callable[[], dict[str, Any]]) -> None:
        self._responders = responders

    async def post(self, inbound: Inbound, body: str) -> None:
        responder = self._responders().get(inbound.platform)
        if responder is None:
            raise LookupError(f"no responder for platform {inbound.platform!r}")

        async def events() -> AsyncIterator[ReplyEvent]:
            yield TextDelta(text=body)
            yield Final(reply_id=uuid.uuid4().hex, text=body, used_tools=True)

        await responder.respond(inbound, events())


class FollowUps:
    def __init__(self, audit: ToolAudit, timeout_s: float) -> None:
        self.audit = audit
        self.timeout_s = timeout_s
        self.poster: FollowUpPoster | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, inbound: Inbound, tool: str, work: Coroutine[Any, Any, str], *, language: str,
              request_id: str, conversation: str) -> None:
        task = asyncio.create_task(self._run(inbound, tool, work, language, request_id, conversation),
                                   name=f"tool-pending:{tool}:{request_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, inbound: Inbound, tool: str, work: Coroutine[Any, Any, str], language: str,
                   request_id: str, conversation: str) -> None:
        started = time.perf_counter()
        status = "ok"
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await work
            body = text("tool_pending_done", language, result=result)
        except TimeoutError:
            status, body = "timeout", text("tool_pending_failed", language)
        except Exception as exc:
            log.warning("tool_pending_failed", tool=tool, request_id=request_id, error=type(exc).__name__)
            status, body = "error", text("tool_pending_failed", language)
        latency = (time.perf_counter() - started) * 1000
        await self.audit.record(platform=inbound.platform, tenant=inbound.tenant, user=inbound.user, tool=tool,
                                status=status, latency_ms=latency, request_id=request_id,  # type: ignore[arg-type]
                                conversation=conversation, detail="pending_finished")
        if self.poster is None:
            log.warning("tool_pending_unposted", tool=tool, request_id=request_id)
            return
        try:
            await self.poster.post(inbound, body)
        except Exception as exc:
            log.warning("tool_pending_post_failed", tool=tool, request_id=request_id, error=type(exc).__name__)

    async def drain(self, timeout_s: float = 30.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
