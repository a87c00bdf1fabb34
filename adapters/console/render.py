"""Render a reply stream in the terminal: tokens as they come, sources and notices after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TextIO

from core.models import (
    Citation,
    CitationEvent,
    Error,
    Final,
    NeedsConfirmation,
    ReplyEvent,
    Status,
    TextDelta,
    ToolResult,
    numbered,
)
from core.texts import text


@dataclass
class ConsoleOutcome:
    final: Final | None = None
    error: Error | None = None
    proposal: NeedsConfirmation | None = None


async def render(events: AsyncIterator[ReplyEvent], out: TextIO, diag: TextIO,
                 language: str | None = "en") -> ConsoleOutcome:
    """Answers go to `out`; status lines and diagnostics to `diag`. Consumes the stream to the end."""
    outcome = ConsoleOutcome()
    citations: list[Citation] = []
    wrote_text = False
    async for event in events:
        if isinstance(event, TextDelta):
            out.write(event.text)
            out.flush()
            wrote_text = True
        elif isinstance(event, Status):
            diag.write(f"[{event.text}]\n")
            diag.flush()
        elif isinstance(event, CitationEvent):
            citations.append(event.citation)
        elif isinstance(event, ToolResult):
            diag.write(text("console_tool_ok" if event.ok else "console_tool_failed", language, tool=event.name) + "\n")
        elif isinstance(event, NeedsConfirmation):
            outcome.proposal = event
        elif isinstance(event, Final):
            outcome.final = event
        elif isinstance(event, Error):
            outcome.error = event
            out.write(("\n" if wrote_text else "") + event.message)
            wrote_text = True
    if wrote_text:
        out.write("\n")
    if citations:
        out.write(f"{text('sources_label', language)}:\n"
                  + "".join(f"  [{n}] {_label(c)}\n" for n, c in numbered(citations)))
    if outcome.proposal is not None:
        out.write(f"{outcome.proposal.summary}\n{text('console_confirm', language)}\n")
    out.flush()
    return outcome


def _label(c: Citation) -> str:
    label = " — ".join(p for p in (c.title, c.section) if p) or c.source_id
    return label + (f" ({c.url})" if c.url else "")
