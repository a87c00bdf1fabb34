"""Flood control as a platform applies it, for the fake Slack and Telegram servers: GCRA buckets per scope.

`Flood.check(scopes)` answers 0 (the call passes, one slot taken in every scope) or the seconds until it would
pass (the fake then answers 429 with that Retry-After / retry_after, rounded up). Limits are the platforms'
published ones, configured by the fake's `flood(...)`; a refused call takes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limit:
    name: str
    rate: float  # calls per `per_s`
    per_s: float = 1.0
    burst: int = 1


@dataclass
class Flood:
    tats: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    refused_by: dict[str, int] = field(default_factory=dict)

    def check(self, limits: list[Limit], method: str) -> float:
        now = time.monotonic()
        wait = 0.0
        for lim in limits:
            interval = lim.per_s / lim.rate
            tat = max(self.tats.get(lim.name, now), now)
            earliest = tat - interval * (lim.burst - 1)
            wait = max(wait, earliest - now)
        if wait > 0:
            self.refused += 1
            self.refused_by[method] = self.refused_by.get(method, 0) + 1
            return wait
        for lim in limits:
            tat = max(self.tats.get(lim.name, now), now)
            self.tats[lim.name] = tat + lim.per_s / lim.rate
        return 0.0
