"""What a platform adapter needs from the running core, handed over by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis

from core.admin import AdminCommands
from core.audience import AccessSettings
from core.dispatch import Dispatcher
from core.edits.ledger import QuestionLedger
from core.engine import Engine
from core.flags import FeatureFlags
from core.handoff.desk import HandoffDesk
from core.ops.metrics import Metrics
from core.profile import BotProfile


@dataclass
class Services:
    engine: Engine
    dispatcher: Dispatcher
    admin: AdminCommands
    flags: FeatureFlags
    redis: aioredis.Redis
    profiles: dict[str, BotProfile]
    metrics: Metrics  # Prometheus counters adapters add to (platform 429s and retries)
    access: AccessSettings = field(default_factory=AccessSettings)  # who administers and reads what
    handoff: HandoffDesk | None = None  # human handoff: inbox, relays, state (core/handoff)
    edits: QuestionLedger | None = None  # edited and deleted questions (core/edits)


class Platform(Protocol):
    """A running platform connection (Slack, Telegram). HTTP routes are mounted when it is built."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> tuple[bool, str]:
        """Ready to receive, or (False, why not). Asked only of a process that receives (role both/receiver)."""
        ...
