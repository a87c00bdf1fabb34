"""Input stage: refuse empty or oversized messages with a clear reply before any work is done."""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.engine import Next
from core.errors import InputRejected
from core.models import ReplyEvent
from core.turn import Turn


class InputStage:
    name = "input"

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        # Drop NULs and other control characters (keep newlines/tabs); binary junk is not a question.
        cleaned = "".join(ch for ch in turn.text if ch in "\n\t" or ch.isprintable()).strip()
        turn.facts["input_chars"] = len(cleaned)
        if turn.inbound.action is None:
            if not cleaned and not turn.inbound.attachments:  # a file alone (e.g. for the person in a handoff)
                raise InputRejected("empty_message")
            if len(cleaned) > self.max_chars:
                raise InputRejected("message_too_long", length=len(cleaned), limit=self.max_chars)
        turn.text = cleaned
        async for event in call_next(turn):
            yield event
