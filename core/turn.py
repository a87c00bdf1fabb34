"""The per-message working state that stages read and fill in (one Turn per Inbound)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.models import Citation, Inbound, Passage, Usage
from core.profile import BotProfile


async def _same(text: str) -> str:
    return text


def _same_sync(text: str) -> str:
    return text


@dataclass
class Turn:
    inbound: Inbound
    profile: BotProfile
    reply_id: str
    # The working text. After the PII stage it is masked: later stages only ever see this.
    text: str
    flags: dict[str, bool] = field(default_factory=dict)
    language: str = "en"
    # Conversation memory (masked), as chat messages, and the running summary of older turns.
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    # Retrieval
    passages: list[Passage] = field(default_factory=list)
    kb_version: str = ""
    # Filled by the generate stage
    prompt_name: str | None = None
    prompt_version: str | None = None
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    citations: list[Citation] = field(default_factory=list)
    cached: bool = False
    retrieval_only: bool = False
    used_tools: bool = False
    # How stages tell later (outer) stages what happened; typed, so every coupling is visible here.
    retrieval_ran: bool = False  # the retrieval stage searched (zero passages then means "found nothing")
    abstained: bool = False  # the retrieval stage found nothing reliable and said so (the handoff trigger reads it)
    low_evidence: bool = False  # answered, but the evidence was just above the gate (the handoff button reads it)
    awaiting_confirmation: bool = False  # a tool call waits for the user's Confirm: the round stops, nothing cached
    tool_text_calls: int = 0  # tool calls the model wrote as text (taken out of the answer)
    sources_consulted_chars: int = 0  # length of the appended "Sources consulted" list (an uncited answer)
    pii_restored: bool = False  # the reply shown holds restored personal data: never cached
    # PII hooks set by the PII stage: mask text going to the model, restore text going to a tool.
    mask: Callable[[str], Awaitable[str]] = _same
    unmask: Callable[[str], str] = _same_sync
    # Called by the engine when the reply is cut before its end (Stop, an edit, a deletion, a shutdown), in order:
    # what a stage keeps of a cut reply (memory: what was shown). The cut itself goes on (never swallowed).
    on_cut: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Loggable facts (never message text) and per-stage self time in seconds.
    facts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None

    def enabled(self, feature: str) -> bool:
        return self.flags.get(feature, False)
