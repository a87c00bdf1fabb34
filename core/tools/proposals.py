"""Proposed side effects waiting for the user's Confirm/Cancel, stored in Redis with a TTL.

A proposal is claimed with an atomic DEL, so two presses (or two workers) can never run it twice.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from core.state.keys import key


class Proposal(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    platform: str
    tenant: str
    bot: str
    user: str
    conversation: str
    channel: str
    thread: str | None = None
    tool: str
    args: dict[str, Any]  # masked, as the model wrote them
    summary: str  # masked; the PII stage restores it for the user
    language: str = "en"
    request_id: str = ""
    created_at: float
    expires_at: float

    def belongs_to(self, platform: str, tenant: str, user: str) -> bool:
        return (self.platform, self.tenant, self.user) == (platform, tenant, user)


class ProposalStore:
    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    @staticmethod
    def _key(proposal_id: str) -> str:
        return key("tool_proposal", proposal_id)

    async def create(self, **fields: Any) -> Proposal:
        now = time.time()
        proposal = Proposal(id=uuid.uuid4().hex, created_at=now, expires_at=now + self.ttl_s, **fields)
        await self.redis.set(self._key(proposal.id), proposal.model_dump_json(), ex=self.ttl_s)
        return proposal

    async def get(self, proposal_id: str) -> Proposal | None:
        if not proposal_id or len(proposal_id) > 64:
            return None
        raw = await self.redis.get(self._key(proposal_id))
        if raw is None:
            return None
        proposal = Proposal.model_validate_json(raw)
        return proposal if proposal.expires_at > time.time() else None

    async def claim(self, proposal_id: str) -> bool:
        """Take the proposal out of the store; True for exactly one caller."""
        return bool(await self.redis.delete(self._key(proposal_id)))
