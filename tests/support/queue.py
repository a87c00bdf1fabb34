"""Helpers shared by the operations tests (no tests here): settings, a responder that records what it sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bots.settings import Settings, load_settings
from core.models import Error, Final, Inbound, ReplyEvent, TextDelta


def redis_url(client: aioredis.Redis) -> str:
    return f"unix://{client.connection_pool.connection_kwargs['path']}"


def ops_settings(tmp_path: Path, redis: aioredis.Redis, llm_server: Any = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path / "var", "redis_url": redis_url(redis)}
    if llm_server is not None:
        values["llm"] = llm_server.settings("openai/gpt-4o-mini")
    values.update(overrides)
    return load_settings(**values)


class RecordingResponder:
    """A platform responder that 'sends' by recording events, like a real one consumes the whole stream."""

    def __init__(self, platform: str = "test") -> None:
        self.platform = platform
        self.sent: dict[str, list[ReplyEvent]] = {}
        self.finished: dict[str, asyncio.Event] = {}

    def done(self, message_id: str) -> asyncio.Event:
        return self.finished.setdefault(message_id, asyncio.Event())

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        out = self.sent.setdefault(inbound.message_id, [])
        async for event in events:
            out.append(event)
        self.done(inbound.message_id).set()

    def terminal(self, message_id: str) -> Final | Error:
        events = self.sent[message_id]
        assert isinstance(events[-1], (Final, Error))
        return events[-1]  # type: ignore[return-value]

    def text(self, message_id: str) -> str:
        return "".join(e.text for e in self.sent[message_id] if isinstance(e, TextDelta))


def inbound(text: str, user: str = "U1", platform: str = "test", tenant: str = "T1", bot: str = "helpdesk",
            **extra: Any) -> Inbound:
    return Inbound(platform=platform, bot=bot, tenant=tenant, channel="C1", user=user, text=text, **extra)


async def ask_queued(runtime: Any, responder: RecordingResponder, message: Inbound, wait_s: float = 20.0) -> Final | Error:
    """Submit through the runtime's dispatcher (the Redis Stream) and wait until the answer was rendered."""
    await runtime.dispatcher.submit(message)
    await asyncio.wait_for(responder.done(message.message_id).wait(), wait_s)
    return responder.terminal(message.message_id)
