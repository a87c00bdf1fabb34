"""Every tool call is audited: a Redis list per tenant, a structured log event, per-tool counters.

The Redis record holds who, which tool, the arguments as the model wrote them (personal data masked),
the result status and the latency. The log event holds no arguments at all (only their names).
Counters (`tool_stats`) give success rate and latency per tool for the metrics exporter and `stats`.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import redis.asyncio as aioredis
import structlog

from core.state.keys import key

log = structlog.get_logger("deskmate.tools")

Status = Literal[
    "ok", "error", "invalid", "timeout", "denied", "unknown", "rate_limited", "proposed", "confirmed_elsewhere",
    "cancelled", "expired", "refused", "pending",
]
# Statuses that count as a tool run for success-rate purposes.
RUN_STATUSES = ("ok", "error", "timeout", "pending")


def audit_key(platform: str, tenant: str) -> str:
    return key("tool_audit", platform, tenant)


STATS_KEY = key("tool_stats")


class ToolAudit:
    def __init__(self, redis: aioredis.Redis, keep: int = 5000) -> None:
        self.redis = redis
        self.keep = keep

    async def record(self, *, platform: str, tenant: str, user: str, tool: str, status: Status,
                     args: dict[str, Any] | None = None, latency_ms: float = 0.0, request_id: str = "",
                     conversation: str = "", proposal_id: str = "", detail: str = "") -> dict[str, Any]:
        entry = {
            "at": time.time(), "request_id": request_id, "platform": platform, "tenant": tenant, "user": user,
            "conversation": conversation, "tool": tool, "args": args or {}, "status": status,
            "latency_ms": round(latency_ms, 2), "proposal_id": proposal_id, "detail": detail,
        }
        name = audit_key(platform, tenant)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(name, json.dumps(entry, ensure_ascii=False))
            pipe.ltrim(name, 0, self.keep - 1)
            pipe.hincrby(STATS_KEY, f"{tool}|{status}", 1)
            if status in RUN_STATUSES:
                pipe.hincrbyfloat(STATS_KEY, f"{tool}|latency_ms", latency_ms)
            await pipe.execute()
        log.info("tool_call", request_id=request_id, platform=platform, tenant=tenant, user=user, tool=tool,
                 status=status, latency_ms=round(latency_ms, 2), arg_names=sorted(args or {}),
                 proposal_id=proposal_id or None, detail=detail or None)
        return entry

    async def recent(self, platform: str, tenant: str, limit: int = 50) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(audit_key(platform, tenant), 0, limit - 1)
        return [json.loads(item) for item in raw]


async def tool_stats(redis: aioredis.Redis) -> dict[str, dict[str, float]]:
    """Per tool: counts per status, `runs`, `success_rate` (ok / runs) and `latency_ms_avg` over runs."""
    raw = await redis.hgetall(STATS_KEY)
    stats: dict[str, dict[str, float]] = {}
    for field, value in raw.items():
        tool, _, name = field.decode().rpartition("|")
        stats.setdefault(tool, {})[name] = float(value)
    for values in stats.values():
        runs = sum(values.get(s, 0.0) for s in RUN_STATUSES)
        values["runs"] = runs
        values["success_rate"] = values.get("ok", 0.0) / runs if runs else 0.0
        values["latency_ms_avg"] = values.get("latency_ms", 0.0) / runs if runs else 0.0
    return stats
