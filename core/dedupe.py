"""Exactly-once guard for platform deliveries (Slack event_id, Telegram update_id), shared via Redis."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.state.keys import key


async def first_delivery(redis: aioredis.Redis, platform: str, delivery_id: str, ttl_s: int = 86_400) -> bool:
    """True the first time `delivery_id` is seen on `platform` (across workers and restarts)."""
    return bool(await redis.set(key("seen", platform, delivery_id), b"1", nx=True, ex=ttl_s))
