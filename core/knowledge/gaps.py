"""The knowledge-gap log: what was asked of the knowledge base and how well it could answer.

The retrieval stage records every knowledge question (not small talk, not a ticket request) with its
evidence: the confidence, whether the bot abstained, the closest document. The question is stored as
the PII stage masked it ("<PERSON_1> can't log in"); when masking is off for that conversation the text
is not kept at all (fail closed), only the fact that something was asked. Thumbs-down votes (from
core/ops/feedback.py) are joined to these records by reply id when the report is made, so a question
that was answered but got 👎 shows up too. `deskmate gaps` reads this log (core/knowledge/gap_report.py).

A handoff to a person opened in a conversation marks that conversation's last knowledge question as escalated
(`escalated`): the bot's answer did not help.

Keys: dm:kb:asked:<reply_id> (JSON, expires after the retention), dm:kb:asked (sorted set by time),
dm:kb:last:<conversation> (the conversation's last question's reply id, for a day).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import redis.asyncio as aioredis

from core.state.keys import key

RETENTION_DAYS = 90
LAST_TTL_S = 86_400  # a handoff a day after the question is not about that answer
LOW_EVIDENCE_MARGIN = 0.1  # answered, but within this much of the gate's floor: "low evidence"
PAGE = 500
QUESTION_CHARS = 1000  # of a question's masked text, kept (the report shows at most 200)


@dataclass(frozen=True)
class Asked:
    """One knowledge question and its evidence (the text masked, or empty when it could not be masked)."""

    reply_id: str
    at: float
    platform: str
    tenant: str
    bot: str
    collections: tuple[str, ...]
    question: str  # masked; "" when PII masking was off (the text is then not kept)
    query: str  # the search query (a follow-up rewritten from the conversation), masked likewise
    confidence: float
    abstained: bool
    low_evidence: bool
    closest_title: str = ""
    closest_source: str = ""
    conversation: str = ""  # Inbound.conversation_key: a handoff opened there marks its last question
    escalated: bool = False  # a person was asked for after this answer (the bot could not help)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Asked:
        data = json.loads(raw)
        data["collections"] = tuple(data.get("collections", ()))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class GapLog:
    def __init__(self, redis: aioredis.Redis, retention_days: int = RETENTION_DAYS) -> None:
        self.redis = redis
        self.retention_s = retention_days * 86_400

    async def record(self, asked: Asked) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key("kb", "asked", asked.reply_id), json.dumps(asdict(asked)), ex=self.retention_s)
            if asked.conversation:
                pipe.set(key("kb", "last", asked.conversation), asked.reply_id, ex=LAST_TTL_S)
            pipe.zadd(key("kb", "asked"), {asked.reply_id: asked.at})
            pipe.zremrangebyscore(key("kb", "asked"), "-inf", time.time() - self.retention_s)
            await pipe.execute()

    async def escalated(self, conversation: str) -> str | None:
        """A handoff opened in `conversation`: mark its last question escalated; its reply id, if there was one."""
        reply_id = await self.redis.get(key("kb", "last", conversation))
        if reply_id is None:
            return None
        reply_id = reply_id.decode() if isinstance(reply_id, bytes) else reply_id
        [asked] = await self.get([reply_id])
        if asked is None or asked.escalated:
            return None if asked is None else reply_id
        ttl = await self.redis.ttl(key("kb", "asked", reply_id))
        marked = replace(asked, escalated=True)
        await self.redis.set(key("kb", "asked", reply_id), json.dumps(asdict(marked)),
                             ex=ttl if ttl and ttl > 0 else self.retention_s)
        return reply_id

    async def asked(self, since: float, until: float) -> list[Asked]:
        """Every recorded question in [since, until], oldest first."""
        ids = await self.redis.zrangebyscore(key("kb", "asked"), since, until)
        return [a for a in await self.get([i.decode() if isinstance(i, bytes) else i for i in ids]) if a]

    async def get(self, reply_ids: Sequence[str]) -> list[Asked | None]:
        out: list[Asked | None] = []
        for start in range(0, len(reply_ids), PAGE):
            keys = [key("kb", "asked", r) for r in reply_ids[start:start + PAGE]]
            out.extend(Asked.from_json(raw) if raw else None for raw in await self.redis.mget(keys))
        return out
