"""Handoff and ticket metrics on /metrics (per platform and tenant; ids and small enumerations only)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

FIRST_REPLY_BUCKETS = (10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 86400)


class HandoffMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.handoffs = Counter("deskmate_handoffs", "Conversations handed to a person, by reason",
                                ["platform", "tenant", "reason"], registry=registry)
        self.handoffs_closed = Counter(
            "deskmate_handoffs_closed", "Handoffs back to the bot: resolved, handed_back, timeout (no agent), idle",
            ["platform", "tenant", "how"], registry=registry)
        self.first_reply = Histogram("deskmate_handoff_first_reply_seconds",
                                     "Time from a handoff to the first human reply", ["platform", "tenant"],
                                     buckets=FIRST_REPLY_BUCKETS, registry=registry)
        self.tickets = Gauge("deskmate_tickets", "Tickets by status", ["platform", "tenant", "status"],
                             registry=registry)

    def opened(self, platform: str, tenant: str, reason: str) -> None:
        self.handoffs.labels(platform, tenant, reason).inc()

    def closed(self, platform: str, tenant: str, how: str) -> None:
        self.handoffs_closed.labels(platform, tenant, how).inc()

    def first_reply_after(self, platform: str, tenant: str, seconds: float) -> None:
        self.first_reply.labels(platform, tenant).observe(max(0.0, seconds))

    def watch_tickets(self, metrics: Any, tickets: Any) -> None:
        """Ticket counts are read from Redis when /metrics is scraped (shared by every worker)."""
        async def refresh() -> None:
            for scope, counts in (await tickets.by_status()).items():
                platform, _, tenant = scope.partition("|")
                for status, n in counts.items():
                    self.tickets.labels(platform, tenant, status).set(n)

        metrics.add_refresher(refresh)
