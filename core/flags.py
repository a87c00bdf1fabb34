"""Feature flags with inheritance: bot default -> workspace (tenant) -> channel, stored in Redis.

Every change is recorded by the admin commands (who, when, where, old -> new) through `record`. A deployment
may lock a feature to a value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

from core.errors import DeskmateError
from core.profile import FEATURES, BotProfile
from core.state.keys import key

Source = Literal["default", "workspace", "channel", "locked"]
AUDIT_KEEP = 500


class FlagError(DeskmateError):
    code = "flag_error"


@dataclass(frozen=True)
class FlagState:
    feature: str
    on: bool
    source: Source
    by: str | None = None
    at: float | None = None


class FeatureFlags:
    def __init__(self, redis: aioredis.Redis, locked: Mapping[str, bool] | None = None,
                 extra_features: Iterable[str] = ()) -> None:
        self.redis = redis
        self.locked = dict(locked or {})
        self.known = set(FEATURES) | set(extra_features)  # e.g. "tools.create_ticket"

    def _scope(self, platform: str, tenant: str, channel: str | None) -> str:
        return key("flags", platform, tenant, "channel", channel) if channel else key("flags", platform, tenant)

    async def effective(self, profile: BotProfile, platform: str, tenant: str, channel: str) -> dict[str, FlagState]:
        """The effective flags for a channel and where each value comes from."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._scope(platform, tenant, None))
            pipe.hgetall(self._scope(platform, tenant, channel))
            workspace, chan = await pipe.execute()
        result: dict[str, FlagState] = {}
        names = set(profile.features) | {k.decode() for k in (*workspace, *chan)}
        for name in sorted(names):
            if name in self.locked:
                result[name] = FlagState(name, self.locked[name], "locked")
                continue
            state = FlagState(name, bool(profile.features.get(name, False)), "default")
            for source, raw in (("workspace", workspace), ("channel", chan)):
                value = raw.get(name.encode())
                if value is not None:
                    data = json.loads(value)
                    state = FlagState(name, bool(data["on"]), source, data.get("by"), data.get("at"))  # type: ignore[arg-type]
            result[name] = state
        return result

    def check_feature(self, feature: str) -> None:
        if feature not in self.known:
            raise FlagError(f"unknown feature {feature!r}; known: {', '.join(sorted(self.known))}")
        if feature in self.locked:
            raise FlagError(f"feature {feature!r} is locked by the deployment")

    async def set(self, platform: str, tenant: str, feature: str, on: bool, by: str,
                  channel: str | None = None) -> FlagState:
        """Turn a feature on/off for a workspace (channel=None) or one channel; recorded in the audit log."""
        self.check_feature(feature)
        now = time.time()
        record = json.dumps({"on": on, "by": by, "at": now})
        await self.redis.hset(self._scope(platform, tenant, channel), feature, record)
        return FlagState(feature, on, "channel" if channel else "workspace", by, now)

    async def reset(self, platform: str, tenant: str, feature: str, by: str, channel: str | None = None) -> None:
        """Remove an override so the value is inherited again."""
        self.check_feature(feature)
        await self.redis.hdel(self._scope(platform, tenant, channel), feature)

    async def history(self, platform: str, tenant: str, limit: int = 20) -> list[dict[str, object]]:
        raw = await self.redis.lrange(key("flags_audit", platform, tenant), 0, limit - 1)
        return [json.loads(item) for item in raw]

    async def record(self, platform: str, tenant: str, entry: dict[str, object]) -> None:
        """Append one change to the tenant's audit log (who, when, where, old -> new)."""
        audit_key = key("flags_audit", platform, tenant)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(audit_key, json.dumps(entry))
            pipe.ltrim(audit_key, 0, AUDIT_KEEP - 1)
            await pipe.execute()
