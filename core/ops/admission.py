"""Adaptive admission: how many queued messages one event loop answers at once."""

from __future__ import annotations

ADMIT_FLOOR = 4  # adaptive admission never goes below this many messages at once
ADMIT_SHRINK = 0.75  # lag over the target: the limit shrinks by a quarter


class Admission:
    """How many messages may be answered at once: at most `ceiling`, fewer while the event loop lags.

    A probe sleeps PROBE_S and measures how late it wakes: the loop's lag, how long every ready callback
    (a streamed chunk, a Redis reply, a platform call) waited behind the others. Lag over the target
    shrinks the limit by a quarter, and not again until the messages in flight have come down to the new
    limit (those already admitted must finish first: shrinking again meanwhile would overshoot). Lag under
    half the target while the limit is what holds messages back grows it by one. Without a target the
    limit is the ceiling.
    """

    def __init__(self, ceiling: int, target_s: float) -> None:
        self.ceiling = ceiling
        self.target_s = target_s
        self.floor = min(ceiling, ADMIT_FLOOR)
        self.limit = float(ceiling) if target_s <= 0 else float(self.floor)
        self.wanted = False  # messages are waiting for a slot (set by the consumer)

    def allowed(self) -> int:
        return int(self.limit)

    def observe(self, lag_s: float, in_flight: int) -> bool:
        """Adapt to one lag sample; True when the limit grew (a waiting consumer may admit more)."""
        if self.target_s <= 0:
            return False
        if lag_s > self.target_s:
            if in_flight <= self.limit:
                self.limit = max(float(self.floor), min(self.limit, float(in_flight)) * ADMIT_SHRINK)
            return False
        if lag_s < self.target_s / 2 and self.wanted and self.limit < self.ceiling:
            self.limit = min(float(self.ceiling), self.limit + 1)
            return True
        return False
