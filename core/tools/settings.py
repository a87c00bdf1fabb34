"""Tool settings: limits, confirmation, ticket forwarding (webhook, Zendesk), escalation target."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class ToolsSettings(BaseModel):
    timeout_s: float = Field(default=15.0, gt=0)  # one tool call, unless the tool sets its own
    max_rounds: int = Field(default=3, ge=0, le=10)  # model -> tools -> model rounds per message
    # "intent": offer tool schemas only when the user's words call for a tool (core/tools/intent.py); "always".
    offer: Literal["intent", "always"] = "intent"
    rate_limit_calls: int = Field(default=20, ge=1)  # tool calls per user per window
    rate_limit_window_s: int = Field(default=60, ge=1)
    proposal_ttl_s: int = Field(default=600, ge=10)  # how long Confirm/Cancel buttons stay valid
    pending_timeout_s: float = Field(default=600.0, gt=0)  # long-running tool work, posted when done
    audit_keep: int = Field(default=5000, ge=10)  # audit records kept per tenant
    ticket_prefix: str = Field(default="DM", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    ticket_webhook_url: str | None = None  # forward new tickets (JSON POST), e.g. to a helpdesk system
    ticket_webhook_attempts: int = Field(default=3, ge=1, le=10)
    ticket_webhook_timeout_s: float = Field(default=10.0, gt=0)
    # Zendesk: tickets also go to https://<you>.zendesk.com (or any base URL speaking its Tickets API)
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: SecretStr | None = None
    escalation_target: str | None = None  # "slack:C0123ABC" or "telegram:-1001234"; unset = stored + logged only
