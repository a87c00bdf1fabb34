"""Work a user must not wait for (bookkeeping after a reply): started now or a little later, kept referenced,
awaited on close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._now = asyncio.Event()  # set while draining: deferred work starts at once

    def spawn(self, work: Coroutine[Any, Any, Any], name: str, after_s: float = 0.0) -> None:
        """Run `work` in a task; it must log its own failures (they are not raised anywhere). `after_s`: start it
        that much later (what the user is waiting for goes first), or at once when `drain` is called."""
        task = asyncio.create_task(self._later(work, after_s) if after_s > 0 else work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, work: Coroutine[Any, Any, Any], after_s: float) -> Any:
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(after_s):
                    await self._now.wait()
        except BaseException:
            work.close()  # cancelled before it started: never "coroutine was never awaited"
            raise
        return await work

    async def drain(self) -> None:
        """Wait for everything spawned so far (deferred work is started at once)."""
        if not self._tasks:
            return
        self._now.set()
        try:
            while pending := [t for t in self._tasks if not t.done()]:  # work may spawn more work
                await asyncio.gather(*pending, return_exceptions=True)
        finally:
            self._now.clear()


def raise_if_cancelling() -> None:
    """For a loop that retries when Redis is down: redis-py can turn its caller's cancellation into a TimeoutError
    (an OSError, so it looks like "Redis is down"), and a loop that retried on it would never end."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
