"""The `chunks` of chat.startStream / appendStream / stopStream, as Slack documents them, for the fake Slack API.

Slack's chunk types: `markdown_text` {text}, `task_update` {id, title, status: pending | in_progress | complete |
error, details?, output?, sources?}, `plan_update` {title}, `blocks` {blocks}. Anything else (an unknown type, a
missing or empty field, a status outside the list) is refused with `invalid_chunks`; `task_display_mode` other
than `timeline` / `plan` with `invalid_arguments`. A streamed message keeps what a user sees of the chunks: its
task cards (latest state of each id) and, in order, every task update and every piece of text (`Shown`), so a
test can ask "was the task complete before the answer's text appeared?".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TASK_STATES = ("pending", "in_progress", "complete", "error")
DISPLAY_MODES = ("timeline", "plan")


def chunk_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return list(value) if isinstance(value, list) else [value] if value is not None else []


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def invalid(chunks: Any) -> str | None:
    """Slack's error for these chunks, or None when they are valid."""
    if chunks is None:
        return None
    items = chunk_list(chunks)
    for c in items:
        if not isinstance(c, dict):
            return "invalid_chunks"
        kind = c.get("type")
        if kind == "markdown_text":
            ok = isinstance(c.get("text"), str) and c["text"] != ""
        elif kind == "task_update":
            ok = (_text(c.get("id")) and _text(c.get("title")) and c.get("status") in TASK_STATES
                  and all(isinstance(c.get(k), str) and len(c[k]) <= 256
                          for k in ("details", "output") if k in c)
                  and isinstance(c.get("sources", []), list))
        elif kind == "plan_update":
            ok = _text(c.get("title"))
        elif kind == "blocks":
            ok = isinstance(c.get("blocks"), list) and bool(c["blocks"])
        else:
            ok = False
        if not ok:
            return "invalid_chunks"
    return None


def has_progress(chunks: Any) -> bool:
    return any(isinstance(c, dict) and c.get("type") in ("task_update", "plan_update") for c in chunk_list(chunks))


@dataclass(frozen=True)
class Shown:
    """One thing a user saw appear in a streamed message, in order."""

    kind: str  # "task" | "plan" | "text"
    id: str = ""
    status: str = ""
    title: str = ""
    text: str = ""


@dataclass
class Progress:
    """The task cards of one streamed message."""

    mode: str = "timeline"
    plan_title: str = ""
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> the latest task_update
    shown: list[Shown] = field(default_factory=list)

    def take(self, args: dict[str, Any]) -> None:
        if args.get("markdown_text"):
            self.shown.append(Shown("text", text=str(args["markdown_text"])))
        for c in chunk_list(args.get("chunks")):
            kind = c.get("type")
            if kind == "markdown_text":
                self.shown.append(Shown("text", text=str(c["text"])))
            elif kind == "task_update":
                self.tasks[str(c["id"])] = dict(c)
                self.shown.append(Shown("task", id=str(c["id"]), status=str(c["status"]), title=str(c["title"])))
            elif kind == "plan_update":
                self.plan_title = str(c["title"])
                self.shown.append(Shown("plan", title=self.plan_title))

    def updates(self, task: str) -> list[str]:
        """Every status task `task` was shown in, in order."""
        return [s.status for s in self.shown if s.kind == "task" and s.id == task]

    def first_text_at(self) -> int | None:
        return next((i for i, s in enumerate(self.shown) if s.kind == "text"), None)
