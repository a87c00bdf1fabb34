"""What a model's answer is worth keeping: shown sources for an answer that cites none, and which answers the
semantic cache must never store (so a weak model's mistake is not replayed to the next user who asks)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.models import Final, Passage
from core.texts import text
from core.turn import Turn

CONSULTED_PASSAGES = 3
# The shape of a tool call written as text, e.g. {"name": "create_ticket", ...} (what core/tools/text_calls.py
# takes out of a streamed answer); checked again on the final text before anything is cached.
TOOL_TEXT = re.compile(r'[{\[]\s*"(?:name|tool|tool_name|function)"\s*:\s*"|<tool_call>')


def heading(passage: Passage) -> str:
    return " — ".join(p for p in (passage.title, passage.section) if p) or passage.source_id


def consulted_block(turn: Turn, passages: Sequence[Passage]) -> str:
    """A labelled list of the passages an uncited answer was given, appended after the answer."""
    lines = [f"[{n}] {heading(p)}" + (f" ({p.url})" if p.url else "")
             for n, p in enumerate(passages[:CONSULTED_PASSAGES], start=1)]
    return "\n\n" + text("sources_consulted", turn.language) + "\n" + "\n".join(lines)


def answer_only(turn: Turn, shown: str) -> str:
    """The answer without the appended "Sources consulted" list (what memory keeps: the model need not reread it)."""
    n = turn.sources_consulted_chars
    return shown[:-n] if n and len(shown) >= n else shown


def uncacheable_reason(turn: Turn, final: Final) -> str | None:
    """Why this answer must not be stored in the semantic cache, or None. Called by the cache's store."""
    if turn.tool_text_calls or TOOL_TEXT.search(final.text):
        return "tool_text"
    if turn.sources_consulted_chars:
        return "uncited"
    if turn.retrieval_ran and not turn.passages and not final.citations:
        return "no_passages"  # retrieval ran and found nothing: the answer is the model's own guess
    return None
