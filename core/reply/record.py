"""Where a reply is shown on the platform, recorded in Redis the moment the platform message exists.

A worker that dies mid-answer leaves its message pending in the queue; the worker that takes it over
(core/ops/queue.py redelivery) answers the same `Inbound` again. Its sink finds this record (keyed by the
Inbound's stable `message_id`) and finishes or replaces *that* platform message instead of posting a second
one: exactly one visible answer per message, even across crashes. Every message of a multi-part answer is
recorded (`ReplyParts`), so a takeover continues part by part.
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
        except Exception as exc:  # without Redis we cannot know whether a dead worker left a message: fail, the
            log.warning("reply_record_unavailable", error=type(exc).__name__)  # entry stays pending and is
            raise  # answered once Redis is back, never twice (the queue retries it)
        return dict(json.loads(raw)) if raw else {}

    async def save(self, inbound: Inbound, ids: dict[str, Any]) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.set(self._key(inbound), json.dumps(ids), ex=TTL_S)
        except Exception as exc:
            log.warning("reply_record_unavailable", error=type(exc).__name__)


class ReplyParts:
    """The platform messages of one answer, part by part, kept in its record as they appear.

    The record stays `{field: <first message>, "parts": [<every message, in order>]}` (older records hold only
    `field`). A worker that takes the message over reuses the dead worker's messages in order: its part 1 goes
    into message 1, part 2 into message 2, and only a part beyond them is posted anew; messages its answer no
    longer needs are `leftovers()` (the sink deletes them). So a takeover after part 2 of 3 edits parts 1-2 and
    posts part 3, and never shows part 1 twice.
    """

    def __init__(self, records: ReplyRecords, inbound: Inbound, field: str, earlier: list[Any]) -> None:
        self.records = records
        self.inbound = inbound
        self.field = field
        self.earlier = list(earlier)  # a dead worker's messages, in order
        self.ids: list[Any] = []  # this answer's messages, part by part
        self.current = 0  # the index of the part being written

    @classmethod
    async def load(cls, records: ReplyRecords, inbound: Inbound, field: str) -> ReplyParts:
        found = await records.load(inbound)
        earlier = found.get("parts") or ([found[field]] if found.get(field) else [])
        return cls(records, inbound, field, earlier)

    @property
    def taken_over(self) -> bool:
        return bool(self.earlier)

    def reuse(self) -> Any | None:
        """The earlier message the part being written should go into (None: post a new one)."""
        if len(self.ids) > self.current or self.current >= len(self.earlier):
            return None
        return self.earlier[self.current]

    async def shown(self, message: Any) -> None:
        """The part being written is now in `message` (a new one, a reused one, or a replacement)."""
        if len(self.ids) > self.current:
            self.ids[self.current] = message
        else:
            self.ids.append(message)
        await self._save(self.ids + self.earlier[len(self.ids):])

    def next(self) -> None:
        """The part being written is complete; the next message is the next part's."""
        if len(self.ids) > self.current:
            self.current += 1

    def leftovers(self) -> list[Any]:
        """Earlier messages this answer did not need (the new answer is shorter)."""
        return [m for m in self.earlier[len(self.ids):] if m not in self.ids]

    async def forget_leftovers(self) -> None:
        if self.leftovers():
            self.earlier = self.earlier[:len(self.ids)]
            await self._save(list(self.ids))

    async def _save(self, parts: list[Any]) -> None:
        if parts:
            await self.records.save(self.inbound, {self.field: parts[0], "parts": parts})
