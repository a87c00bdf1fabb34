"""Restoring placeholders in streamed text, where one placeholder may be split across chunks."""

from __future__ import annotations

import re
from collections.abc import Callable

# A chunk tail that may still become a placeholder: "<", "<EMA", "<EMAIL_1" (but not "<EMAIL_1>").
_PARTIAL = re.compile(r"<(?:[A-Z][A-Z0-9_]{0,40})?\Z")


class StreamRestorer:
    """Feed text deltas in order; get them back with placeholders restored. Call `flush` at the end."""

    def __init__(self, restore: Callable[[str], str]) -> None:
        self._restore = restore
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        tail = _PARTIAL.search(text)
        if tail is not None:
            self._held, text = text[tail.start():], text[:tail.start()]
        else:
            self._held = ""
        return self._restore(text) if text else ""

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._restore(text) if text else ""
