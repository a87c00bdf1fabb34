"""The handoff state of one conversation, in Redis: bot -> waiting for a person -> with a person -> bot.

One JSON record per conversation (`dm:handoff:conv:<conversation>`) while a handoff is open, changed only inside a
WATCH/MULTI transaction so two workers never both take, open or close it. Index keys find it from the inbox thread
(`dm:handoff:thread:<channel>:<ts>`); two sorted sets hold the deadlines the sweeper checks (`dm:handoff:waiting`:
no agent yet, `dm:handoff:idle`: nobody wrote). Every record is also kept by id (`dm:handoff:rec:<id>`, indexed
by opening time in `dm:handoff:history`) for `deskmate report`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field

from core.state.keys import key

Status = Literal["waiting", "with_person", "bot"]
Closed = Literal["resolved", "handed_back", "timeout", "idle"]
ACTIVE = ("waiting", "with_person")


class Handoff(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    conversation: str
    platform: str
    tenant: str
    bot: str
    channel: str
    thread: str | None = None
    user: str
    language: str = "en"
    reason: str
    reply_to: dict[str, Any] = Field(default_factory=dict)  # platform ids the customer channel needs
    status: Status = "waiting"
    opened_at: float = Field(default_factory=time.time)
    taken_by: str = ""
    taken_at: float | None = None
    first_reply_at: float | None = None
    closed_at: float | None = None
    closed_how: Closed | None = None
    closed_by: str = ""
    inbox_channel: str = ""
    inbox_ts: str = ""
    noted: bool = False  # the customer was told once that a colleague is on it
    last_activity: float = Field(default_factory=time.time)
    ticket: str = ""
    wait_s: float = 600.0
    idle_s: float = 86_400.0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _conv_key(conversation: str) -> str:
    return key("handoff", "conv", conversation)


def _thread_key(channel: str, ts: str) -> str:
    return key("handoff", "thread", channel, ts)


class HandoffStore:
    def __init__(self, redis: aioredis.Redis, keep_days: int = 90) -> None:
        self.redis = redis
        self.keep_s = keep_days * 86_400

    async def get(self, conversation: str) -> Handoff | None:
        raw = await self.redis.get(_conv_key(conversation))
        return Handoff.model_validate_json(raw) if raw else None

    async def by_thread(self, channel: str, ts: str) -> Handoff | None:
        conversation = await self.redis.get(_thread_key(channel, ts))
        h = await self.get(conversation.decode()) if conversation else None
        # a late press or reply in an old thread never reaches a newer handoff of the same conversation
        return h if h is not None and h.inbox_channel == channel and h.inbox_ts == ts else None

    async def known_thread(self, channel: str, ts: str) -> bool:
        """Whether this inbox thread was a handoff's (open or over)."""
        return bool(await self.redis.exists(_thread_key(channel, ts)))

    async def create(self, handoff: Handoff) -> bool:
        """Open `handoff` unless the conversation already has an active one (then False)."""
        name = _conv_key(handoff.conversation)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(name)
                    raw = await pipe.get(name)
                    if raw and Handoff.model_validate_json(raw).active:
                        await pipe.reset()
                        return False
                    pipe.multi()
                    self._write(pipe, handoff)
                    await pipe.execute()
                    return True
                except aioredis.WatchError:
                    continue

    async def update(self, conversation: str,
                     change: Callable[[Handoff], Handoff | None]) -> tuple[Handoff | None, Handoff | None]:
        """Apply `change` atomically to the active record; (before, after). `change` returning None: no write."""
        name = _conv_key(conversation)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(name)
                    raw = await pipe.get(name)
                    before = Handoff.model_validate_json(raw) if raw else None
                    after = change(before.model_copy(deep=True)) if before is not None and before.active else None
                    if after is None:
                        await pipe.reset()
                        return before, None
                    pipe.multi()
                    self._write(pipe, after)
                    await pipe.execute()
                    return before, after
                except aioredis.WatchError:
                    continue

    async def save_record(self, h: Handoff) -> None:
        """Update the kept record of a closed handoff (e.g. the ticket its timeout created)."""
        await self.redis.set(key("handoff", "rec", h.id), h.model_dump_json(), ex=self.keep_s)

    def _write(self, pipe: Any, h: Handoff) -> None:
        body = h.model_dump_json()
        if h.active:
            pipe.set(_conv_key(h.conversation), body)
        else:  # back to the bot: the conversation has no handoff any more; the record stays for reports
            pipe.delete(_conv_key(h.conversation))
        pipe.set(key("handoff", "rec", h.id), body, ex=self.keep_s)
        pipe.zadd(key("handoff", "history"), {h.id: h.opened_at})
        if h.inbox_ts:
            pipe.set(_thread_key(h.inbox_channel, h.inbox_ts), h.conversation, ex=self.keep_s)
        if h.status == "waiting":
            pipe.zadd(key("handoff", "waiting"), {h.conversation: h.opened_at + h.wait_s})
        else:
            pipe.zrem(key("handoff", "waiting"), h.conversation)
        if h.active:
            pipe.zadd(key("handoff", "idle"), {h.conversation: h.last_activity + h.idle_s})
        else:
            pipe.zrem(key("handoff", "idle"), h.conversation)

    async def due(self, which: Literal["waiting", "idle"], now: float) -> list[str]:
        return [c.decode() for c in await self.redis.zrangebyscore(key("handoff", which), "-inf", now)]

    async def claim_once(self, name: str, ttl_s: int = 86_400) -> bool:
        """True for the first worker asking for `name` (a relayed message, a timeout): never done twice."""
        return bool(await self.redis.set(key("handoff", "once", name), b"1", nx=True, ex=ttl_s))

    async def history(self, since: float, until: float) -> list[Handoff]:
        ids = await self.redis.zrangebyscore(key("handoff", "history"), since, until)
        if not ids:
            return []
        raws = await self.redis.mget([key("handoff", "rec", i.decode()) for i in ids])
        return [Handoff.model_validate_json(r) for r in raws if r]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
