"""The knowledge-gap log: what was asked of the knowledge base and how well it could answer.

The retrieval stage records every knowledge question (not small talk, not a ticket request) with its
evidence: the confidence, whether the bot abstained, the closest document. The question is stored as
the PII stage masked it ("<PERSON_1> can't log in"); when masking is off for that conversation the text
is not kept at all (fail closed), only the fact that something was asked. Thumbs-down votes (from
core/ops/feedback.py) are joined to these records by reply id when the report is made, so a question
that was answered but got 👎 shows up too. `deskmate gaps` reads this log (core/knowledge/gap_report.py).

Keys: dm:kb:asked:<reply_id> (JSON, expires after the retention), dm:kb:asked (sorted set by time).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from core.state.keys import key

RETENTION_DAYS = 90
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
            pipe.zadd(key("kb", "asked"), {asked.reply_id: asked.at})
            pipe.zremrangebyscore(key("kb", "asked"), "-inf", time.time() - self.retention_s)
            await pipe.execute()

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
