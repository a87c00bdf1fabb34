"""Escalation to a person: a masked summary of the conversation posted to a configured target.

Core stays platform-free: delivery goes through a `Notifier` (one per platform, provided by the
adapters). Every escalation is also stored in Redis (a list per tenant) and logged (ids only), so
nothing is lost when no notifier is configured or delivery fails.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog

from core.handoff.desk import visible_turns
from core.state.keys import key

log = structlog.get_logger("deskmate.escalation")

RECENT_MESSAGES = 8
MESSAGE_CHARS = 300
KEEP = 1000


class Notifier(Protocol):
    """Posts a text to a platform destination (a Slack channel id, a Telegram chat id)."""

    async def notify(self, target: str, text: str) -> None: ...


def conversation_summary(reason: str, summary: str, history: list[dict[str, Any]], *, platform: str, user: str,
                         conversation: str) -> str:
    """A plain-text hand-over note from masked material only (reason, running summary, last messages)."""
    lines = [f"Deskmate escalation from {platform} user {user}", f"Conversation: {conversation}",
             f"Reason: {reason}"]
    if summary:
        lines.append(f"Earlier: {summary}")
    recent = visible_turns(history, RECENT_MESSAGES, MESSAGE_CHARS)  # only what the conversation's audience saw
    if recent:
        lines.append("Recent messages:")
        lines += [f"- {role}: {content}" for role, content in recent]
    return "\n".join(lines)


class EscalationDesk:
    def __init__(self, redis: aioredis.Redis, target: str | None = None,
                 notifiers: Mapping[str, Notifier] | None = None) -> None:
        self.redis = redis
        self.target = target
        self.notifiers: dict[str, Notifier] = dict(notifiers or {})

    def add_notifier(self, platform: str, notifier: Notifier) -> None:
        self.notifiers[platform] = notifier

    async def escalate(self, *, platform: str, tenant: str, user: str, conversation: str, note: str) -> dict[str, Any]:
        """Store the (masked) note, deliver it to the target if a notifier serves it; the stored record."""
        record: dict[str, Any] = {"id": uuid.uuid4().hex[:12], "at": time.time(), "platform": platform,
                                  "tenant": tenant, "user": user, "conversation": conversation, "note": note,
                                  "target": self.target or "", "delivered": False}
        if self.target:
            where, _, destination = self.target.partition(":")
            notifier = self.notifiers.get(where)
            if notifier is None or not destination:
                log.warning("escalation_unrouted", escalation=record["id"], target_platform=where)
            else:
                try:
                    await notifier.notify(destination, note)
                    record["delivered"] = True
                except Exception as exc:  # stored below either way: a person can still find it
                    log.warning("escalation_delivery_failed", escalation=record["id"], error=type(exc).__name__)
        name = key("escalations", platform, tenant)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(name, json.dumps(record, ensure_ascii=False))
            pipe.ltrim(name, 0, KEEP - 1)
            await pipe.execute()
        log.info("escalated", escalation=record["id"], platform=platform, tenant=tenant, user=user,
                 delivered=record["delivered"])
        return record

    async def recent(self, platform: str, tenant: str, limit: int = 20) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(key("escalations", platform, tenant), 0, limit - 1)
        return [json.loads(item) for item in raw]
