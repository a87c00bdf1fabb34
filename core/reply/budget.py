"""Shared rate budgets: one per platform scope (a Slack workspace + method, a Telegram chat, group or bot),
held in Redis so every answer in flight and every worker process draws from the same budget.

Each scope is a GCRA bucket (the "generic cell rate algorithm": one stored timestamp per scope, the theoretical
arrival time): `rate` calls per `per_s` seconds with bursts of `burst`. A call takes a slot in *all* its scopes
at once, atomically (one Lua script), or in none. Previews (drafts, edits, appends that are not the last one)
may not use the last slot of a burst: that one is kept for the calls whose text must land (the final message,
a completed part), so finals are not starved by previews. Progress calls (Slack task cards) leave `reserve`
slots free, so they only ever use room the text does not need. A 429 makes the scope slower: nobody calls it before
`retry_after`, and its rate is halved for a minute (then recovers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog

from core.state.keys import key

log = structlog.get_logger("deskmate.reply.budget")

SLOWDOWN_TTL_S = 60  # how long a 429 keeps a scope at the slower rate
MAX_SLOWDOWN = 8.0

# KEYS: per scope a bucket key, then per scope a slowdown key, then per scope a "blocked until" key.
# ARGV: n, reserve (slots to leave free: 0 for a final, 1 for a preview, more for progress), then per scope
# interval_s, burst. Returns "0" (taken) or the seconds to wait (nothing taken).
_TAKE = """
local n = tonumber(ARGV[1])
local reserve = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local wait = 0
local tats = {}
local intervals = {}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local slow = tonumber(redis.call('GET', KEYS[n + i]) or '1')
  interval = interval * slow
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local blocked = tonumber(redis.call('GET', KEYS[2 * n + i]) or '0')
  if blocked - now > wait then wait = blocked - now end
  local allowed = burst
  if reserve == 1 and burst > 1 then allowed = burst - 1 end
  if reserve > 1 then allowed = burst - reserve end
  local earliest = tat - interval * (allowed - 1)
  if earliest > now and earliest - now > wait then wait = earliest - now end
  tats[i] = tat
  intervals[i] = interval
end
if wait > 0 then return tostring(wait) end
for i = 1, n do
  local new = tats[i] + intervals[i]
  redis.call('SET', KEYS[i], tostring(new), 'PX', math.ceil((new - now) * 1000) + 1000)
end
return '0'
"""

# KEYS: bucket, slowdown, blocked. ARGV: retry_after_s, slowdown ttl_s, max slowdown.
# Blocks the scope for retry_after, restarts its bucket empty after that, and doubles the slowdown.
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local retry = tonumber(ARGV[1])
local until_ = now + retry
redis.call('SET', KEYS[3], tostring(until_), 'PX', math.ceil(retry * 1000) + 1000)
redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(retry * 1000) + 1000)
local slow = tonumber(redis.call('GET', KEYS[2]) or '1') * 2
if slow > tonumber(ARGV[3]) then slow = tonumber(ARGV[3]) end
redis.call('SET', KEYS[2], tostring(slow), 'EX', tonumber(ARGV[2]))
return tostring(slow)
"""


@dataclass(frozen=True)
class Scope:
    """One rate-limited scope: `rate` calls per `per_s` seconds, bursts up to `burst` calls."""

    name: str  # e.g. "slack:T1:chat.appendStream", "telegram:7000001:chat:-100200"
    rate: float
    per_s: float = 1.0
    burst: int = 1

    @property
    def interval_s(self) -> float:
        return self.per_s / self.rate


class RateBudget:
    """Take slots from shared scopes; wait (finals) or learn how long to wait (previews)."""

    def __init__(self, redis: aioredis.Redis, *, namespace: str = "rate") -> None:
        self.redis = redis
        self.namespace = namespace
        self._take = redis.register_script(_TAKE)
        self._penalize = redis.register_script(_PENALIZE)

    def _keys(self, scopes: Sequence[Scope]) -> list[str]:
        return ([key(self.namespace, s.name) for s in scopes]
                + [key(self.namespace, "slow", s.name) for s in scopes]
                + [key(self.namespace, "blocked", s.name) for s in scopes])

    async def try_take(self, scopes: Sequence[Scope], *, preview: bool, reserve: int | None = None) -> float:
        """Take one slot in every scope now and return 0, or take nothing and return the seconds to wait.
        `reserve`: leave this many slots of each burst free (default: 1 for a preview, 0 for a final)."""
        if not scopes:
            return 0.0
        args: list[float | int] = [len(scopes), (1 if preview else 0) if reserve is None else max(0, reserve)]
        for s in scopes:
            args += [s.interval_s, max(1, s.burst)]
        try:
            return float(await self._take(keys=self._keys(scopes), args=args))
        except Exception as exc:  # Redis down: do not hold answers back; the platform's 429s still pace us
            log.warning("rate_budget_unavailable", error=type(exc).__name__)
            return 0.0

    async def take(self, scopes: Sequence[Scope], *, preview: bool = False, max_wait_s: float = 120.0) -> float:
        """Wait until a slot is free in every scope and take it; returns the seconds waited."""
        waited = 0.0
        while True:
            wait = await self.try_take(scopes, preview=preview)
            if wait <= 0 or waited >= max_wait_s:
                return waited
            wait = min(wait, max_wait_s - waited) + 0.005
            await asyncio.sleep(wait)
            waited += wait

    async def throttled(self, scope: Scope, retry_after_s: float) -> None:
        """The platform answered 429 for `scope`: nobody calls it before `retry_after_s`; slower for a while."""
        try:
            slow = await self._penalize(keys=self._keys([scope]),
                                        args=[retry_after_s, SLOWDOWN_TTL_S, MAX_SLOWDOWN])
            log.info("rate_budget_slowed", scope=scope.name, retry_after_s=retry_after_s, slowdown=float(slow))
        except Exception as exc:
            log.warning("rate_budget_unavailable", error=type(exc).__name__)
