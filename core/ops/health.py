"""Readiness: is every dependency this process needs reachable right now (Redis, vector store, platforms)?

`/healthz` says the process is alive; `/readyz` runs these checks (in parallel, each with a short
timeout) and answers 200 only when all pass, so a load balancer stops sending work to a worker that
cannot answer.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

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


def vector_store_check(parts: Mapping[str, Any]) -> Check | None:
    """A check for the knowledge store found in the runtime parts (Chroma client heartbeat), if any."""

    def find() -> Any:
        for name in ("store", "knowledge", "retrieval"):
            part = parts.get(name)
            for candidate in (part, getattr(part, "store", None)):
                client = getattr(candidate, "client", None)
                if client is not None and hasattr(client, "heartbeat"):
                    return client
        return None

    async def check() -> bool:
        client = find()
        if client is None:
            return True  # no knowledge store in this deployment
        await asyncio.to_thread(client.heartbeat)
        return True

    return check


def gateway_check(gateway: Any) -> Check:
    """Not ready while a configured model has a configuration problem (bad key, unknown model, ...)."""

    async def check() -> tuple[bool, str]:
        return gateway.ready()

    return check


def platform_check(platform: Any) -> Check:
    async def check() -> bool:
        result = platform.ready()
        return bool(await result) if inspect.isawaitable(result) else bool(result)

    return check
