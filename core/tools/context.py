"""What a tool gets besides its arguments (ToolContext) and what it returns (ToolOutput)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.models import Inbound, Passage

if TYPE_CHECKING:
    from core.tools.services import ToolServices


@dataclass
class ToolContext:
    """Who is asking and where. `inbound` is the message (or button press) that made the tool run;
    `conversation` is the conversation the call belongs to (the proposal's, for a confirmed call)."""

    inbound: Inbound
    conversation: str
    language: str
    reply_id: str
    services: ToolServices
    masked_args: dict[str, Any] = field(default_factory=dict)  # the arguments as the model wrote them
    history: list[dict[str, Any]] = field(default_factory=list)  # masked conversation messages
    summary: str = ""  # masked running summary of older messages
    passages: list[Passage] = field(default_factory=list)  # retrieval results the answer may cite
    mask: Callable[[str], Awaitable[str]] | None = None
    turn: Any = None  # the Turn, when the call runs inside a model round (search_knowledge needs it)

    @property
    def user(self) -> str:
        return self.inbound.user

    @property
    def is_admin(self) -> bool:
        return self.inbound.is_admin


@dataclass
class ToolOutput:
    """`content` goes back to the model (masked first); `reply` is what the user is told after a
    confirmed action (defaults to `content`). `pending` is long-running work whose result text is
    posted into the same conversation when it finishes."""

    content: str
    ok: bool = True
    reply: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    pending: Coroutine[Any, Any, str] | None = None
