"""Per-reply facts and thumbs up/down feedback, in Redis, for `deskmate report` and admin stats.

When a reply is final, `RecordStage` stores its facts (prompt name + version, model, cache/RAG/tool
flags, tokens, cost: never text) under its reply id. A thumbs press from any platform comes to
`Engine.feedback` as an `Inbound` with a feedback action, and from there to `FeedbackStore.record` (the one
place presses are stored, with one retention: DESKMATE_FEEDBACK__RETENTION_DAYS), which joins it with those
facts. One vote per user per reply: pressing again changes the vote. A thumbs-down on a cached answer
also evicts that answer from the semantic cache.

Keys: dm:ops:reply:<reply_id> (JSON, expires), dm:ops:replies (sorted set of reply ids by time),
dm:ops:votes (hash "<reply_id>|<user>" -> JSON), dm:ops:votes_by_time (sorted set),
dm:ops:votecount:<platform>:<tenant> (hash up/down).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.engine import Next
from core.models import Final, Inbound, NeedsConfirmation, ReplyEvent, ToolResult
from core.ops.metrics import Metrics
from core.state.keys import key
from core.turn import Turn

log = structlog.get_logger("deskmate.feedback")

VALUES = ("up", "down")
Evictor = Callable[[str], Awaitable[Any]]
PAGE = 500


@dataclass(frozen=True)
class Vote:
    reply_id: str
    user: str
    value: str
    at: float
    facts: dict[str, Any]


class FeedbackStore:
    def __init__(self, redis: aioredis.Redis, retention_days: int = 90, evict: Evictor | None = None) -> None:
        self.redis = redis
        self.retention_s = retention_days * 86_400
        self.evict = evict
        self.on_recorded: list[Callable[[Inbound], Awaitable[None]]] = []  # e.g. the handoff's two-👎 trigger

    # -- reply facts

    async def remember(self, turn: Turn, final: Final, now: float | None = None) -> None:
        now = time.time() if now is None else now
        inbound = turn.inbound
        facts = {
            "reply_id": final.reply_id, "at": now, "platform": inbound.platform, "tenant": inbound.tenant,
            "bot": inbound.bot, "prompt": final.prompt_name or "-", "prompt_version": final.prompt_version or "-",
            "model": final.model or ("cache" if final.cached else "none"), "cached": final.cached,
            "rag": bool(turn.passages or final.citations), "tools": final.used_tools,
            "retrieval_only": final.retrieval_only, "prompt_tokens": final.usage.prompt_tokens,
            "completion_tokens": final.usage.completion_tokens, "cost_usd": final.usage.cost_usd,
            "usage_estimated": final.usage.estimated,
        }
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key("ops", "reply", final.reply_id), json.dumps(facts), ex=self.retention_s)
            pipe.zadd(key("ops", "replies"), {final.reply_id: now})
            pipe.zremrangebyscore(key("ops", "replies"), "-inf", now - self.retention_s)
            await pipe.execute()

    async def reply_facts(self, reply_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(key("ops", "reply", reply_id))
        return json.loads(raw) if raw else None

    # -- votes

    async def submit(self, reply_id: str, user: str, value: str, context: dict[str, Any] | None = None, *,
                     facts: dict[str, Any] | None = None) -> None:
        """Record (or change) `user`'s vote on `reply_id`; `facts`: the reply's, when the caller has read them."""
        if value not in VALUES:
            raise ValueError(f"feedback value must be one of {VALUES}, not {value!r}")
        if not reply_id or not user:
            raise ValueError("feedback needs a reply id and a user")
        context = context or {}
        now = time.time()
        facts = facts or await self.reply_facts(reply_id) or {
            "reply_id": reply_id, "platform": str(context.get("platform", "unknown")),
            "tenant": str(context.get("tenant", "unknown")), "prompt": "-", "prompt_version": "-",
            "model": "unknown", "cached": False, "rag": False, "tools": False, "cost_usd": 0.0, "unknown": True,
        }
        field_name = f"{reply_id}|{user}"
        previous = await self.redis.hget(key("ops", "votes"), field_name)
        old_value = json.loads(previous)["value"] if previous else None
        vote = {"reply_id": reply_id, "user": user, "value": value, "at": now, "facts": facts}
        counts = key("ops", "votecount", facts["platform"], facts["tenant"])
        expired = await self.redis.zrangebyscore(key("ops", "votes_by_time"), "-inf", now - self.retention_s)
        async with self.redis.pipeline(transaction=True) as pipe:
            if expired:  # votes are kept as long as reply facts (the one retention setting)
                pipe.hdel(key("ops", "votes"), *expired)
                pipe.zrem(key("ops", "votes_by_time"), *expired)
            pipe.hset(key("ops", "votes"), field_name, json.dumps(vote))
            pipe.zadd(key("ops", "votes_by_time"), {field_name: now})
            if old_value != value:
                pipe.hincrby(counts, value, 1)
                if old_value:
                    pipe.hincrby(counts, old_value, -1)
            await pipe.execute()
        log.info("feedback", reply_id=reply_id, value=value, changed=old_value not in (None, value),
                 prompt=facts.get("prompt"), prompt_version=facts.get("prompt_version"), model=facts.get("model"))
        if value == "down" and facts.get("cached"):
            if self.evict is not None:
                try:
                    await self.evict(reply_id)
                    log.info("cache_evicted_on_feedback", reply_id=reply_id)
                except Exception as exc:  # the vote is stored either way
                    log.warning("cache_evict_failed", reply_id=reply_id, error=type(exc).__name__)

    async def record(self, inbound: Inbound) -> bool:
        """A 👍/👎 press (an `Inbound` whose action is feedback_up/feedback_down on a reply id), recorded once.

        Refused (False, logged) when the reply belongs to another platform or tenant than the presser's audience:
        a reply id is not a capability. A reply whose facts have expired is still counted, as "unknown"."""
        action = inbound.action
        if action is None or action.kind not in ("feedback_up", "feedback_down"):
            raise ValueError("not a feedback press")
        facts = await self.reply_facts(action.ref)
        tenant = inbound.audience.tenant
        if facts is not None and (facts.get("platform"), facts.get("tenant")) != (inbound.platform, tenant):
            log.warning("feedback_refused_other_tenant", reply_id=action.ref, platform=inbound.platform)
            return False
        value = "up" if action.kind == "feedback_up" else "down"
        await self.submit(action.ref, inbound.user, value, {"platform": inbound.platform, "tenant": tenant},
                          facts=facts)
        for listener in self.on_recorded:
            try:
                await listener(inbound)
            except Exception as exc:  # the vote is stored either way
                log.warning("feedback_listener_failed", reply_id=action.ref, error=type(exc).__name__)
        return True

    async def vote(self, reply_id: str, user: str) -> Vote | None:
        raw = await self.redis.hget(key("ops", "votes"), f"{reply_id}|{user}")
        if not raw:
            return None
        v = json.loads(raw)
        return Vote(v["reply_id"], v["user"], v["value"], v["at"], v["facts"])

    async def votes(self, since: float, until: float) -> list[Vote]:
        fields = await self.redis.zrangebyscore(key("ops", "votes_by_time"), since, until)
        out: list[Vote] = []
        for start in range(0, len(fields), PAGE):
            page = fields[start:start + PAGE]
            for raw in await self.redis.hmget(key("ops", "votes"), page):
                if raw:
                    v = json.loads(raw)
                    out.append(Vote(v["reply_id"], v["user"], v["value"], v["at"], v["facts"]))
        return out

    async def replies(self, since: float, until: float) -> list[dict[str, Any]]:
        ids = await self.redis.zrangebyscore(key("ops", "replies"), since, until)
        out: list[dict[str, Any]] = []
        for start in range(0, len(ids), PAGE):
            keys = [key("ops", "reply", i.decode()) for i in ids[start:start + PAGE]]
            out.extend(json.loads(raw) for raw in await self.redis.mget(keys) if raw)
        return out

    async def stats(self, platform: str, tenant: str) -> dict[str, Any]:
        raw = await self.redis.hgetall(key("ops", "votecount", platform, tenant))
        up, down = int(raw.get(b"up", 0)), int(raw.get(b"down", 0))
        share = ("stat_feedback_positive", {"share": f"{100 * up / (up + down):.0f}"}) if up + down else ""
        return {"stat_feedback": ("stat_feedback_value", {"up": up, "down": down, "share": share})}


class RecordStage:
    """Records each final reply's facts (for feedback and reports) and counts tool calls."""

    name = "record"

    def __init__(self, store: FeedbackStore, metrics: Metrics | None = None) -> None:
        self.store = store
        self.metrics = metrics

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        async for event in call_next(turn):
            if self.metrics is not None:
                if isinstance(event, ToolResult):
                    self.metrics.tool_call(event.name, "ok" if event.ok else "failed")
                elif isinstance(event, NeedsConfirmation):
                    self.metrics.tool_call(event.tool, "proposed")
            if isinstance(event, Final):
                try:
                    await self.store.remember(turn, event)
                except Exception as exc:  # never lose the answer for bookkeeping
                    log.warning("reply_record_failed", request_id=turn.reply_id, error=type(exc).__name__)
            yield event
