"""Where a reply is shown on the platform, recorded in Redis the moment the platform message exists.

A worker that dies mid-answer leaves its message pending in the queue; the worker that takes it over
(core/ops/queue.py redelivery) answers the same `Inbound` again. Its sink finds this record (keyed by the
Inbound's stable `message_id`) and finishes or replaces *that* platform message instead of posting a second
one: exactly one visible answer per message, even across crashes.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.models import Inbound
from core.state.keys import key

log = structlog.get_logger("deskmate.reply.record")

TTL_S = 86_400  # a redelivery comes within minutes; a day covers any queue backlog


class ReplyRecords:
    """`ids` is whatever the platform needs to find its message again, e.g. {"ts": ...} or {"message_id": ...}."""

    def __init__(self, redis: aioredis.Redis | None) -> None:
        self.redis = redis

    @staticmethod
    def _key(inbound: Inbound) -> str:
        return key("reply", inbound.platform, inbound.tenant, inbound.message_id)

    async def load(self, inbound: Inbound) -> dict[str, Any]:
        if self.redis is None:
            return {}
        try:
            raw = await self.redis.get(self._key(inbound))
        except Exception as exc:  # without Redis we cannot know: answer as a first delivery
            log.warning("reply_record_unavailable", error=type(exc).__name__)
            return {}
        return dict(json.loads(raw)) if raw else {}

    async def save(self, inbound: Inbound, ids: dict[str, Any]) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.set(self._key(inbound), json.dumps(ids), ex=TTL_S)
        except Exception as exc:
            log.warning("reply_record_unavailable", error=type(exc).__name__)
