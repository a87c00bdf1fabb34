"""A per-model circuit breaker whose state lives in Redis, so every worker sees the same state.

Keys (all built with core.state.keys.key):
  dm:breaker:<model>:fails  consecutive failures (INCR; deleted on success)
  dm:breaker:<model>:open   exists while the breaker is open; its TTL is the open period (reset_s, or a
                            provider's Retry-After), so open -> half-open needs no clock shared by workers
  dm:breaker:<model>:trial  the single half-open trial call, taken with SET NX PX (a lease, so a worker that
                            dies mid-trial does not block the model forever)

closed:    fails < threshold and no open key: calls go through.
open:      the open key exists: calls are skipped at once.
half_open: fails >= threshold and the open key expired: one caller wins the trial key and goes through;
           its success closes the breaker, its failure opens it again for reset_s.
"""

from __future__ import annotations

from typing import Literal

import redis.asyncio as aioredis

from core.state.keys import key

BreakerState = Literal["closed", "open", "half_open"]

# KEYS: fails, open, trial. ARGV: threshold, trial lease ms. Returns 1 when the call may go through.
_ALLOW = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local fails = tonumber(redis.call('GET', KEYS[1]) or '0')
if fails < tonumber(ARGV[1]) then return 1 end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

# KEYS: fails, open, trial. ARGV: threshold, reset ms, retry-after ms (0 = none), fails TTL ms.
# Returns the new consecutive failure count.
_FAIL = """
local fails = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local open_ms = 0
if fails >= tonumber(ARGV[1]) then open_ms = tonumber(ARGV[2]) end
if tonumber(ARGV[3]) > open_ms then open_ms = tonumber(ARGV[3]) end
if open_ms > 0 then
  local left = redis.call('PTTL', KEYS[2])
  if left < open_ms then redis.call('SET', KEYS[2], '1', 'PX', open_ms) end
end
redis.call('DEL', KEYS[3])
return fails
"""

_FAILS_TTL_MS = 24 * 3600 * 1000  # a failure streak older than a day is forgotten


class CircuitBreaker:
    def __init__(
        self, redis: aioredis.Redis, *, failures: int = 3, reset_s: float = 30.0, trial_lease_s: float = 60.0
    ) -> None:
        self._redis = redis
        self.failures = failures
        self.reset_s = reset_s
        self.trial_lease_s = trial_lease_s
        self._allow = redis.register_script(_ALLOW)
        self._fail = redis.register_script(_FAIL)

    @staticmethod
    def _keys(model: str) -> list[str]:
        return [key("breaker", model, "fails"), key("breaker", model, "open"), key("breaker", model, "trial")]

    async def allow(self, model: str) -> bool:
        """True if a call to `model` may go now (closed, or this caller won the half-open trial)."""
        lease_ms = max(1, int(self.trial_lease_s * 1000))
        return bool(await self._allow(keys=self._keys(model), args=[self.failures, lease_ms]))

    async def record_success(self, model: str) -> None:
        await self._redis.delete(*self._keys(model))

    async def record_failure(self, model: str, *, retry_after_s: float | None = None) -> int:
        """Count a failure; open the breaker at the threshold, or for at least `retry_after_s` when given."""
        reset_ms = max(1, int(self.reset_s * 1000))
        retry_ms = max(0, int((retry_after_s or 0) * 1000))
        return int(await self._fail(keys=self._keys(model), args=[self.failures, reset_ms, retry_ms, _FAILS_TTL_MS]))

    async def release_trial(self, model: str) -> None:
        """Give back a half-open trial that ended without a verdict (e.g. the caller was cancelled)."""
        await self._redis.delete(key("breaker", model, "trial"))

    async def state(self, model: str) -> BreakerState:
        fails_key, open_key, _ = self._keys(model)
        is_open, fails = await self._redis.exists(open_key), await self._redis.get(fails_key)
        if is_open:
            return "open"
        if int(fails or 0) >= self.failures:
            return "half_open"
        return "closed"

    async def open_for_s(self, model: str) -> float:
        """Seconds left in the open period (0.0 when not open)."""
        left = await self._redis.pttl(key("breaker", model, "open"))
        return max(0.0, left / 1000) if left and left > 0 else 0.0
