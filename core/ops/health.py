"""Readiness: is every dependency this process needs reachable right now (Redis, vector store, platforms)?

`/healthz` says the process is alive; `/readyz` runs these checks (in parallel, each with a short
timeout) and answers 200 only when all pass, so a load balancer stops sending work to a worker that
cannot answer.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis

# A check answers ready or not, or (ready, reason) when it can say why not.
Check = Callable[[], Awaitable[bool | tuple[bool, str]]]
CHECK_TIMEOUT_S = 2.0


class Readiness:
    def __init__(self, timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self.checks: dict[str, Check] = {}
        self.reasons: dict[str, str] = {}  # why each failing check failed, as of the last run

    def add(self, name: str, check: Check) -> None:
        self.checks[name] = check

    async def _one(self, check: Check) -> tuple[bool, str]:
        try:
            result = await asyncio.wait_for(check(), self.timeout_s)
        except TimeoutError:
            return False, f"no answer within {self.timeout_s:g} s"
        except Exception as exc:  # unreachable is "not ready", not a crash
            return False, f"{type(exc).__name__}: {exc}"[:300]
        if isinstance(result, tuple):
            return bool(result[0]), "" if result[0] else result[1]
        return bool(result), ""

    async def run(self) -> tuple[bool, dict[str, bool]]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._one(self.checks[n]) for n in names))
        self.reasons = {n: reason for n, (ok, reason) in zip(names, results, strict=True) if not ok and reason}
        status = {n: ok for n, (ok, _) in zip(names, results, strict=True)}
        return all(status.values()), status


def redis_check(redis: aioredis.Redis) -> Check:
    async def check() -> bool:
        return bool(await redis.ping())

    return check


class Part(Protocol):
    """Anything the process needs that can say whether it is ready now: the knowledge store, a platform, the
    queue consumer, the model gateway. `ready()` may be sync or async."""

    def ready(self) -> Awaitable[tuple[bool, str]] | tuple[bool, str]: ...


def part_check(part: Part) -> Check:
    """The readiness check of one part: its own `ready()`; (False, reason) or an exception is "not ready"."""

    async def check() -> tuple[bool, str]:
        result = part.ready()
        return await result if inspect.isawaitable(result) else result

    return check
