"""What a platform adapter needs from the running core, handed over by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis

from core.admin import AdminCommands
from core.audience import AccessSettings
from core.dispatch import Dispatcher
from core.engine import Engine
from core.flags import FeatureFlags
from core.profile import BotProfile

# (reply_id, user, value "up"/"down", context) -> None; set by the feedback store (core/ops)
FeedbackSink = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]


@dataclass
class Services:
    engine: Engine
    dispatcher: Dispatcher
    admin: AdminCommands
    flags: FeatureFlags
    redis: aioredis.Redis
    profiles: dict[str, BotProfile]
    access: AccessSettings = field(default_factory=AccessSettings)  # who administers and reads what
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. "feedback": FeedbackSink, "metrics": ...


class Platform(Protocol):
    """A running platform connection (Slack, Telegram). HTTP routes are mounted when it is built."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...
