"""Render a reply stream in the terminal through the shared reply loop: tokens as they come, then sources
and notices. The console sink shows every delta at once (no pacing, no splitting)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TextIO

from core.models import (
    Citation,
    Error,
    Final,
    NeedsConfirmation,
    ReplyEvent,
    Status,
    ToolCall,
    ToolResult,
    numbered,
)
from core.reply.loop import ReplyLoop, ReplyOutcome
from core.texts import text


@dataclass
class ConsoleOutcome:
    final: Final | None = None
    error: Error | None = None
    proposal: NeedsConfirmation | None = None


class ConsoleSink:
    part_limit = 10**9
    interval_s = 0.0
    batch_chars = None

    def __init__(self, out: TextIO, diag: TextIO, language: str | None) -> None:
        self.out, self.diag, self.language = out, diag, language
        self.printed = ""

    async def begin(self) -> None:
        return None

    async def status(self, status: Status) -> None:
        if status.state == "done":
            return  # a step's end: the answer says what came of it
        self.diag.write(f"[{status.text}]\n")
        self.diag.flush()

    async def tool(self, event: ToolCall | ToolResult) -> None:
        if isinstance(event, ToolResult):
            self.diag.write(text("console_tool_ok" if event.ok else "console_tool_failed", self.language,
                                 tool=event.name) + "\n")

    async def preview(self, part: str) -> float:
        self._write(part)
        return 0.0

    async def seal(self, part: str) -> None:
        self._write(part)

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        if outcome.error is not None and outcome.final is None:
            # the streamed text stays as printed; the notice follows on its own line
            self.out.write(("\n" if self.printed else "") + outcome.error.message)
            self.printed += outcome.error.message
        else:
            self._write(part)
        if self.printed:
            self.out.write("\n")
        if outcome.citations:
            self.out.write(f"{text('sources_label', self.language)}:\n"
                           + "".join(f"  [{n}] {_label(c)}\n" for n, c in numbered(outcome.citations)))
        if outcome.proposals:
            self.out.write(f"{outcome.proposals[-1].summary}\n{text('console_confirm', self.language)}\n")
        self.out.flush()

    async def close(self) -> None:
        self.out.flush()

    def _write(self, part: str) -> None:
        if part.startswith(self.printed):
            self.out.write(part[len(self.printed):])
            self.out.flush()
            self.printed = part


async def render(events: AsyncIterator[ReplyEvent], out: TextIO, diag: TextIO,
                 language: str | None = "en") -> ConsoleOutcome:
    """Answers go to `out`; status lines and diagnostics to `diag`. Consumes the stream to the end."""
    done = await ReplyLoop(ConsoleSink(out, diag, language)).run(events)
    return ConsoleOutcome(final=done.final, error=done.error, proposal=done.proposals[-1] if done.proposals else None)


def _label(c: Citation) -> str:
    label = " — ".join(p for p in (c.title, c.section) if p) or c.source_id
    return label + (f" ({c.url})" if c.url else "")
