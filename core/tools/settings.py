"""Tool settings: ticket forwarding, escalation targets, limits."""

from __future__ import annotations

from pydantic import BaseModel


class ToolsSettings(BaseModel):
    ticket_webhook_url: str | None = None
