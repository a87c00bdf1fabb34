"""The output check that keeps the bot's instructions private.

The prompts tell the model never to reveal its instructions or tool definitions; this check does not trust it.
`PromptGuard` holds every run of `RUN_CHARS` characters of the system prompt and the tool schemas (lower case,
white space folded); an answer that contains one is stopped before the run is shown whole and ends with a
refusal. Passages from the knowledge base are not guarded: quoting documents is the job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

RUN_CHARS = 60  # a quote this long of the instructions is a leak
_SPACE = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.lower())


class PromptGuard:
    def __init__(self, secrets: Iterable[str], run_chars: int = RUN_CHARS) -> None:
        self.run = run_chars
        self._runs: set[str] = set()
        for secret in secrets:
            folded = _fold(secret).strip()
            self._runs.update(folded[i:i + run_chars] for i in range(max(0, len(folded) - run_chars + 1)))
        self._seen = ""
        self.leaked = False

    @classmethod
    def for_prompt(cls, system: str, tools: Sequence[dict[str, Any]] = ()) -> PromptGuard:
        return cls([system, *(json.dumps(t, ensure_ascii=False) for t in tools)])

    def admit(self, delta: str) -> bool:
        """Whether `delta` may be shown: False (and `leaked`) once the answer so far quotes a guarded run."""
        if self.leaked:
            return False
        self._seen += delta
        # the new text plus enough before it to hold a whole run, however much white space it folds away
        window = _fold(self._seen[-(len(delta) + 4 * self.run):])
        if any(window[i:i + self.run] in self._runs for i in range(max(0, len(window) - self.run + 1))):
            self.leaked = True
        return not self.leaked
