"""What the built-in tools use: ticket store, escalation desk, knowledge search, settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from core.models import Passage
from core.tools.escalation import EscalationDesk
from core.tools.settings import ToolsSettings
from core.tools.tickets import TicketStore

# (turn, query) -> passages; the knowledge retriever, passed in so tools do not depend on its internals.
SearchFn = Callable[[Any, str], Awaitable[list[Passage]]]


@dataclass
class ToolServices:
    settings: ToolsSettings
    tickets: TicketStore
    escalations: EscalationDesk
    search: SearchFn | None = None
    handoff: Any = None  # core.handoff.desk.HandoffDesk when configured: escalate_to_human opens a handoff
