"""Assemble the tools part from settings: registry with the built-ins, stores, runner, actions stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from core.dispatch import Responder
from core.tools.audit import ToolAudit, tool_stats
from core.tools.builtins import register_builtins
from core.tools.escalation import EscalationDesk, Notifier
from core.tools.limits import ToolRateLimit
from core.tools.pending import FollowUps, ResponderPoster
from core.tools.proposals import ProposalStore
from core.tools.registry import ToolRegistry
from core.tools.runner import ToolRunner
from core.tools.services import SearchFn, ToolServices
from core.tools.settings import ToolsSettings
from core.tools.ticket_connectors import WebhookConnector, ZendeskConnector
from core.tools.tickets import Connector, TicketStore


@dataclass
class Tools:
    registry: ToolRegistry
    runner: ToolRunner
    services: ToolServices
    audit: ToolAudit
    follow_ups: FollowUps

    @property
    def tickets(self) -> TicketStore:
        return self.services.tickets

    @property
    def escalations(self) -> EscalationDesk:
        return self.services.escalations

    def feature_names(self) -> list[str]:
        return self.registry.feature_names()

    def post_follow_ups_via(self, responders: dict[str, Responder]) -> None:
        """Post long-running results through the platform responders (the dispatcher's, filled in as platforms
        register)."""
        self.follow_ups.poster = ResponderPoster(lambda: responders)

    async def stats(self) -> dict[str, dict[str, float]]:
        return await tool_stats(self.audit.redis)

    async def aclose(self) -> None:
        await self.follow_ups.cancel_all()
        await self.services.tickets.drain(timeout_s=5)


def ticket_connectors(settings: ToolsSettings) -> list[Connector]:
    """The generic webhook and/or Zendesk, as configured."""
    out: list[Connector] = []
    if settings.ticket_webhook_url:
        out.append(WebhookConnector(settings.ticket_webhook_url, settings.ticket_webhook_attempts,
                                    settings.ticket_webhook_timeout_s))
    if settings.zendesk_url and settings.zendesk_email and settings.zendesk_api_token is not None:
        out.append(ZendeskConnector(settings.zendesk_url, settings.zendesk_email, settings.zendesk_api_token,
                                    settings.ticket_webhook_attempts, settings.ticket_webhook_timeout_s))
    return out


def build_tools(settings: ToolsSettings, redis: aioredis.Redis, data_dir: Path, *, search: SearchFn | None = None,
                notifiers: Mapping[str, Notifier] | None = None, registry: ToolRegistry | None = None) -> Tools:
    registry = register_builtins(registry or ToolRegistry())
    tickets = TicketStore(redis, prefix=settings.ticket_prefix, connectors=ticket_connectors(settings))
    services = ToolServices(settings=settings, tickets=tickets,
                            escalations=EscalationDesk(redis, settings.escalation_target, notifiers), search=search)
    audit = ToolAudit(redis, keep=settings.audit_keep)
    follow_ups = FollowUps(audit, settings.pending_timeout_s)
    runner = ToolRunner(registry, services, audit, ProposalStore(redis, settings.proposal_ttl_s),
                        ToolRateLimit(redis, settings.rate_limit_calls, settings.rate_limit_window_s), follow_ups,
                        settings)
    return Tools(registry=registry, runner=runner, services=services, audit=audit, follow_ups=follow_ups)
