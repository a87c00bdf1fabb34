"""Model spend per tenant per UTC day, split into the main answer and side calls, for `deskmate report`.

The daily budgets (core/ops/limits.py) count every token and cent, main and side alike, in a hash that lives
three days. This ledger keeps the same amounts longer and split, so an operator sees what a tenant's answers cost
and what the calls beside them cost (the cache judge, the follow-up rewrite, the memory summary, rerank,
embeddings, speech-to-text, vision), per kind.

Key: dm:spend:<platform>:<tenant>:<YYYYMMDD> (hash: main_tokens, main_cost_micro_usd, side_tokens,
side_cost_micro_usd, side:<kind>:cost_micro_usd, side:<kind>:calls).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from core.state.keys import PREFIX, key

SPEND_TTL_S = 400 * 86_400  # a year of history and a bit


def day_of(now: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(now))


def spend_fields(part: str, tokens: int, cost_micro_usd: int, kind: str = "") -> dict[str, int]:
    """The ledger's increments for one charge (`part`: main or side)."""
    out = {f"{part}_tokens": tokens, f"{part}_cost_micro_usd": cost_micro_usd}
    if kind:
        out[f"{part}:{kind}:cost_micro_usd"] = cost_micro_usd
        out[f"{part}:{kind}:calls"] = 1
    return out


def spend_key(platform: str, tenant: str, now: float) -> str:
    return key("spend", platform, tenant, day_of(now))


@dataclass
class TenantSpend:
    platform: str
    tenant: str
    main_tokens: int = 0
    main_cost_usd: float = 0.0
    side_tokens: int = 0
    side_cost_usd: float = 0.0
    side_by_kind: dict[str, float] = field(default_factory=dict)  # kind -> cost_usd

    def add(self, raw: dict[bytes, bytes]) -> None:
        for name, value in raw.items():
            field_name, amount = name.decode(), int(value)
            if field_name == "main_tokens":
                self.main_tokens += amount
            elif field_name == "main_cost_micro_usd":
                self.main_cost_usd += amount / 1e6
            elif field_name == "side_tokens":
                self.side_tokens += amount
            elif field_name == "side_cost_micro_usd":
                self.side_cost_usd += amount / 1e6
            elif field_name.startswith("side:") and field_name.endswith(":cost_micro_usd"):
                kind = field_name[len("side:"):-len(":cost_micro_usd")]
                self.side_by_kind[kind] = self.side_by_kind.get(kind, 0.0) + amount / 1e6


async def spend_between(redis: aioredis.Redis, since: float, until: float, platform: str | None = None,
                        tenant: str | None = None) -> list[TenantSpend]:
    """Every tenant's spend on the UTC days from `since` to `until` (whole days), sorted by platform, tenant."""
    first, last = day_of(since), day_of(until)
    rows: dict[tuple[str, str], TenantSpend] = {}
    async for raw_key in redis.scan_iter(match=f"{PREFIX}:spend:*", count=500):
        parts = (raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)).split(":")
        if len(parts) < 5:
            continue
        p, t, day = parts[2], ":".join(parts[3:-1]), parts[-1]
        if not first <= day <= last or (platform and p != platform) or (tenant and t != tenant):
            continue
        rows.setdefault((p, t), TenantSpend(p, t)).add(await redis.hgetall(raw_key))
    return [rows[k] for k in sorted(rows)]


def spend_table(rows: list[TenantSpend]) -> list[list[Any]]:
    """Rows for `deskmate report`: per tenant, main vs side cost and tokens, and the side cost by kind."""
    table: list[list[Any]] = [["platform", "tenant", "main_cost_usd", "main_tokens", "side_cost_usd", "side_tokens",
                               "side_by_kind"]]
    for r in rows:
        kinds = ",".join(f"{k}={v:.6f}" for k, v in sorted(r.side_by_kind.items())) or "-"
        table.append([r.platform, r.tenant, f"{r.main_cost_usd:.6f}", str(r.main_tokens), f"{r.side_cost_usd:.6f}",
                      str(r.side_tokens), kinds])
    return table
