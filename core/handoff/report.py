"""Handoff and ticket figures per platform and tenant, for `deskmate report` (from the records in Redis)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.handoff.state import Handoff


@dataclass
class TenantFigures:
    scope: str  # "platform|tenant"
    handoffs: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    handed_back: int = 0
    timed_out: int = 0
    idle: int = 0
    open_now: int = 0
    first_reply_s: list[float] = field(default_factory=list)
    tickets: dict[str, int] = field(default_factory=dict)

    @property
    def median_first_reply_s(self) -> float | None:
        return statistics.median(self.first_reply_s) if self.first_reply_s else None


def figures(handoffs: Iterable[Handoff], tickets: Mapping[str, Mapping[str, int]],
            platform: str | None = None, tenant: str | None = None) -> list[TenantFigures]:
    """One row per platform|tenant; with `platform`/`tenant`, only that audience's own figures."""
    rows: dict[str, TenantFigures] = {}

    def wanted(p: str, t: str) -> bool:
        return (platform is None or p == platform) and (tenant is None or t == tenant)

    for h in handoffs:
        if not wanted(h.platform, h.tenant):
            continue
        row = rows.setdefault(f"{h.platform}|{h.tenant}", TenantFigures(f"{h.platform}|{h.tenant}"))
        row.handoffs += 1
        row.by_reason[h.reason] = row.by_reason.get(h.reason, 0) + 1
        if h.closed_how == "resolved":
            row.resolved += 1
        elif h.closed_how == "handed_back":
            row.handed_back += 1
        elif h.closed_how == "timeout":
            row.timed_out += 1
        elif h.closed_how == "idle":
            row.idle += 1
        else:
            row.open_now += 1
        if h.first_reply_at is not None:
            row.first_reply_s.append(max(0.0, h.first_reply_at - h.opened_at))
    for scope, counts in tickets.items():
        p, _, t = scope.partition("|")
        if wanted(p, t):
            rows.setdefault(scope, TenantFigures(scope)).tickets = dict(counts)
    return sorted(rows.values(), key=lambda r: r.scope)
