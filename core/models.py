"""The platform-neutral message model: what comes in (Inbound) and what goes out (ReplyEvent).

Adapters normalize platform events into `Inbound` and render the `ReplyEvent` stream natively.
Everything here is JSON-serializable so an Inbound can cross a queue between processes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.audience import Audience


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Attachment(Frozen):
    """A non-text part of a message. `ref` is the platform's handle (file id/url) for the adapter."""

    kind: Literal["voice", "audio", "photo", "document", "video", "sticker", "other"]
    ref: str = ""
    mime_type: str | None = None
    size: int | None = None
    name: str | None = None


class Action(Frozen):
    """A button press or similar: confirm/cancel a proposed tool call, feedback on a reply, or "talk to a person"
    (`handoff`: handled like `/human`)."""

    kind: Literal["confirm", "cancel", "feedback_up", "feedback_down", "handoff"]
    ref: str  # proposal id or reply id


class Inbound(Frozen):
    """One user message (or action), normalized. `extras` keeps platform ids the renderer needs."""

    platform: str  # "slack" | "telegram" | "console"
    bot: str  # bot profile name
    tenant: str  # Slack team_id, Telegram bot id, "local" for the console
    channel: str  # channel / chat id
    thread: str | None = None  # thread ts / forum topic id
    user: str
    text: str = ""
    message_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    attachments: tuple[Attachment, ...] = ()
    action: Action | None = None
    is_admin: bool = False
    is_private: bool = False
    locale: str | None = None
    received_at: float = Field(default_factory=time.time)
    extras: dict[str, Any] = Field(default_factory=dict)
    # Who may read and change what (core/audience.py), computed by the platform's edge function. An Inbound made
    # without one gets the least-privileged audience: a customer who reads public documents only.
    audience: Audience

    @model_validator(mode="before")
    @classmethod
    def _least_privilege(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("audience") is None:
            data = {**data, "audience": {"tenant": data.get("tenant", ""), "user": data.get("user", ""),
                                         "channel": data.get("channel", "")}}
        return data

    @property
    def conversation_key(self) -> str:
        """Memory/vault scope: platform + tenant + conversation (thread or chat)."""
        return f"{self.platform}:{self.tenant}:{self.channel}:{self.thread or '-'}"


class Citation(Frozen):
    source_id: str
    title: str
    section: str = ""
    url: str = ""  # link or file path
    snippet: str = ""
    number: int = 0  # the [n] the answer text uses for it; 0 = numbered by position in the source list


def numbered(citations: Sequence[Citation]) -> list[tuple[int, Citation]]:
    """The source list as every adapter shows it: each source once, under the number the answer's [n] marks use,
    so "[3] … [1]" in the text lists [3] and [1], never a renumbering."""
    seen: set[tuple[str, str, str]] = set()
    out: list[tuple[int, Citation]] = []
    for c in citations:
        ident = (c.source_id, c.section, c.url)
        if ident in seen:
            continue
        seen.add(ident)
        out.append((c.number or len(out) + 1, c))
    return out


class Usage(Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # True when the server sent no usage and litellm has no tokenizer for the model: counts are approximate.
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            estimated=self.estimated or other.estimated,
        )


class Status(Frozen):
    """A progress line. With a `step`, one of the turn's steps ("kb", "confirm:<call>", "tool:<call>"): the same
    step is reported `running` once and then `done` or `failed` once, so an adapter can show it as one task that
    completes (Slack task chunks). `text` is one of our own texts (core/texts/), never the user's words."""

    type: Literal["status"] = "status"
    text: str
    step: str = ""  # "" = a free-standing line
    state: Literal["running", "done", "failed"] = "running"


class TextDelta(Frozen):
    type: Literal["text"] = "text"
    text: str


class CitationEvent(Frozen):
    type: Literal["citation"] = "citation"
    citation: Citation


class ToolCall(Frozen):
    type: Literal["tool_call"] = "tool_call"
    call_id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ToolResult(Frozen):
    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str
    ok: bool
    summary: str = ""


class NeedsConfirmation(Frozen):
    """A proposed side effect. The adapter shows Confirm/Cancel; the press comes back as an Action."""

    type: Literal["needs_confirmation"] = "needs_confirmation"
    proposal_id: str
    tool: str
    summary: str
    expires_at: float
    origin: Literal["user", "document"] = "user"  # "document": a retrieved passage, not the user, asked for it


class Final(Frozen):
    """Always the last event of a successful reply. `text` is the full text the user saw."""

    type: Literal["final"] = "final"
    reply_id: str
    text: str
    citations: tuple[Citation, ...] = ()
    usage: Usage = Usage()
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    cached: bool = False
    retrieval_only: bool = False
    used_tools: bool = False
    offer_person: bool = False  # show a "talk to a person" button under it (set by the handoff stage)


class Error(Frozen):
    """Terminal event when no answer can be given. `message` is safe to show to the user."""

    type: Literal["error"] = "error"
    code: str
    message: str
    reply_id: str = ""


ReplyEvent = Annotated[
    Status | TextDelta | CitationEvent | ToolCall | ToolResult | NeedsConfirmation | Final | Error,
    Field(discriminator="type"),
]
TERMINAL_TYPES = ("final", "error")


class Passage(Frozen):
    """A retrieved piece of knowledge, with what is needed to cite it."""

    source_id: str
    text: str
    title: str = ""
    section: str = ""
    url: str = ""
    score: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)

    def citation(self) -> Citation:
        return Citation(
            source_id=self.source_id, title=self.title, section=self.section, url=self.url,
            snippet=self.text[:200],
        )
