"""Work a user must not wait for (bookkeeping after a reply): started now, kept referenced, awaited on close."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `work` in a task; it must log its own failures (they are not raised anywhere)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for everything spawned so far."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def raise_if_cancelling() -> None:
    """For a loop that retries when Redis is down: redis-py can turn its caller's cancellation into a TimeoutError
    (an OSError, so it looks like "Redis is down"), and a loop that retried on it would never end."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
