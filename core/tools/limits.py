"""Per-user tool-call rate limit: a fixed window counter in Redis (shared by all workers)."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from core.state.keys import key


class ToolRateLimit:
    def __init__(self, redis: aioredis.Redis, calls: int, window_s: int) -> None:
        self.redis = redis
        self.calls = calls
        self.window_s = window_s

    async def allow(self, platform: str, tenant: str, user: str) -> bool:
        window = int(time.time() // self.window_s)
        name = key("tool_rate", platform, tenant, user, str(window))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, self.window_s + 1)
            count, _ = await pipe.execute()
        return int(count) <= self.calls
