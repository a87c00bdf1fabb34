"""The semantic cache's numbers: in-process counters for the metrics exporter, per-tenant ones in Redis for `stats`."""

from __future__ import annotations

from collections import Counter, deque

import redis.asyncio as aioredis

from core.cache.store import Scope
from core.state.keys import key

LATENCY_SAMPLES = 500
# Verifier outcomes counted per tenant: "exact" needed no verifier; "memo" was answered from Redis.
VERIFY_EVENTS = ("verify_yes", "verify_no", "verify_error", "verify_timeout", "verify_memo")


class CacheStats:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.counters: Counter[str] = Counter()
        self.hit_latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    async def skip(self, platform: str, tenant: str, reason: str) -> None:
        self.counters[f"skip:{reason}"] += 1
        await self.redis.hincrby(key("cache", "stats", platform, tenant), "skips", 1)

    async def count(self, scope: Scope, *events: str, evictions: int = 0, hit_s: float | None = None) -> None:
        for event in events:
            self.counters[event] += 1
        self.counters["evictions"] += evictions
        stats_key = key("cache", "stats", scope.platform, scope.tenant)
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.hincrby(stats_key, event, 1)
            if evictions:
                pipe.hincrby(stats_key, "evictions", evictions)
            if hit_s is not None:
                self.hit_latencies.append(hit_s)
                lat_key = key("cache", "hitms", scope.platform, scope.tenant)
                pipe.lpush(lat_key, round(hit_s * 1000, 3))
                pipe.ltrim(lat_key, 0, LATENCY_SAMPLES - 1)
            await pipe.execute()

    async def report(self, platform: str, tenant: str) -> dict[str, object]:
        """Admin `stats` source: this tenant's cache numbers across all workers."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key("cache", "stats", platform, tenant))
            pipe.lrange(key("cache", "hitms", platform, tenant), 0, -1)
            raw, lat = await pipe.execute()
        counts = {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in raw.items()}
        hits, misses = counts.get("hits", 0), counts.get("misses", 0)
        latencies = sorted(float(x) for x in lat)
        out: dict[str, object] = {
            "stat_cache_hits": hits, "stat_cache_misses": misses,  # text keys: shown in the reader's language
            "stat_cache_hit_ratio": f"{hits / (hits + misses):.1%}" if hits + misses else "stat_none",
            "stat_cache_stored": counts.get("stores", 0),
            "stat_cache_evictions": counts.get("evictions", 0),
            "stat_cache_skipped": counts.get("skips", 0),
        }
        judged = {e: counts.get(e, 0) for e in VERIFY_EVENTS}
        if any(judged.values()):
            out["stat_cache_verifier_yes_no"] = f"{judged['verify_yes']}/{judged['verify_no']}"
            out["stat_cache_verifier_failed"] = f"{judged['verify_error']}/{judged['verify_timeout']}"
            out["stat_cache_verifier_memo"] = judged["verify_memo"]
        if latencies:
            out["stat_cache_latency_p50"] = f"{pct(latencies, 0.5):.1f} ms"
            out["stat_cache_latency_p95"] = f"{pct(latencies, 0.95):.1f} ms"
        return out


def pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]
