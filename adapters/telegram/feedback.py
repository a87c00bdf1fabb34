"""Thumbs up/down on Telegram answers: a small record per reply, and the presses.

Presses go to the shared feedback sink (`services.extras["feedback"]`) when the deployment has one;
otherwise they are kept in Redis next to the reply record, one value per user (a second press replaces it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis

from core.models import Final
from core.services import Services
from core.state.keys import key

RECORD_TTL_S = 30 * 86_400


def record_key(tenant: str, reply_id: str) -> str:
    return key("reply", "telegram", tenant, reply_id)


def feedback_key(tenant: str, reply_id: str) -> str:
    return key("feedback", "telegram", tenant, reply_id)


async def remember_reply(redis: aioredis.Redis, tenant: str, chat_id: int, final: Final) -> None:
    """What a later press needs to be attributed: model, prompt name/version, cache hit (no text)."""
    record = {
        "reply_id": final.reply_id, "chat": str(chat_id), "model": final.model or "",
        "prompt_name": final.prompt_name or "", "prompt_version": final.prompt_version or "",
        "cached": int(final.cached), "at": time.time(),
    }
    await redis.set(record_key(tenant, final.reply_id), json.dumps(record), ex=RECORD_TTL_S)


async def reply_record(redis: aioredis.Redis, tenant: str, reply_id: str) -> dict[str, Any]:
    raw = await redis.get(record_key(tenant, reply_id))
    return json.loads(raw) if raw else {}


async def store_press(services: Services, tenant: str, reply_id: str, user: str, value: str) -> dict[str, Any]:
    """Store one press ("up"/"down"); returns the context it was stored with."""
    context: dict[str, Any] = {"platform": "telegram", "tenant": tenant,
                               **await reply_record(services.redis, tenant, reply_id)}
    sink = services.extras.get("feedback")
    if sink is not None:
        await sink(reply_id, user, value, context)
        return context
    entry = json.dumps({"value": value, "at": time.time(), **context})
    async with services.redis.pipeline(transaction=True) as pipe:
        pipe.hset(feedback_key(tenant, reply_id), user, entry)
        pipe.expire(feedback_key(tenant, reply_id), RECORD_TTL_S)
        await pipe.execute()
    return context


async def presses(redis: aioredis.Redis, tenant: str, reply_id: str) -> dict[str, dict[str, Any]]:
    """user -> stored press, for this reply (the Redis fallback store)."""
    raw = await redis.hgetall(feedback_key(tenant, reply_id))
    return {k.decode(): json.loads(v) for k, v in raw.items()}
