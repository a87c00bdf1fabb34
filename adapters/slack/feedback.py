"""Feedback presses (👍/👎) joined with the reply they rate: prompt name/version, model, cache hit.

When the Final event is rendered, a small Redis record is kept per reply id. A press is handed to the
operations feedback sink (`services.extras["feedback"]`) when one is installed, else stored here.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis

from core.models import Final, Inbound
from core.services import FeedbackSink
from core.state.keys import key

REPLY_TTL_S = 90 * 86_400


class ReplyRecords:
    def __init__(self, redis: aioredis.Redis, sink: FeedbackSink | None = None) -> None:
        self.redis = redis
        self.sink = sink

    async def remember(self, inbound: Inbound, final: Final, ts: str | None) -> None:
        record = {
            "platform": inbound.platform, "tenant": inbound.tenant, "channel": inbound.channel,
            "bot": inbound.bot, "ts": ts or "", "model": final.model or "",
            "prompt_name": final.prompt_name or "", "prompt_version": final.prompt_version or "",
            "cached": "1" if final.cached else "0", "at": str(time.time()),
        }
        name = key("reply", inbound.platform, inbound.tenant, final.reply_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, mapping=record)
            pipe.expire(name, REPLY_TTL_S)
            await pipe.execute()

    async def reply(self, tenant: str, reply_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(key("reply", "slack", tenant, reply_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def press(self, tenant: str, reply_id: str, user: str, value: str) -> dict[str, Any]:
        """Store one press ("up"/"down"); a user's later press on the same reply replaces the earlier one."""
        reply = await self.reply(tenant, reply_id)
        context: dict[str, Any] = {
            "platform": "slack", "tenant": tenant, "channel": reply.get("channel"), "bot": reply.get("bot"),
            "model": reply.get("model") or None, "prompt_name": reply.get("prompt_name") or None,
            "prompt_version": reply.get("prompt_version") or None, "cached": reply.get("cached") == "1",
        }
        if self.sink is not None:
            await self.sink(reply_id, user, value, context)
            return context
        entry = json.dumps({"value": value, "at": time.time(), **context})
        name = key("feedback", "slack", tenant, reply_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(name, user, entry)
            pipe.expire(name, REPLY_TTL_S)
            await pipe.execute()
        return context

    async def presses(self, tenant: str, reply_id: str) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(key("feedback", "slack", tenant, reply_id))
        return {k.decode(): json.loads(v) for k, v in raw.items()}
