"""The engine's progress steps as Slack task cards: `task_update` chunks in the streamed message.

Each `Status` with a step ("kb", "confirm:<call>", "tool:<call>") becomes one task: `in_progress` when the step
starts, `complete` (or `error`) when it ends; a step is shown once, and every task still open when the message
ends is closed with it (`error` when the answer failed). Chunks wait here until a call carries them: a call of
their own only when the workspace's stream budget has room to spare (`SlackWriter._send_tasks`), otherwise the
next text append or the stopStream takes them along, so progress never costs the text a call. Two updates of
the same task waiting together go out as the later one. The title is one of our texts (core/texts/), never the
user's words, so no personal data can reach a task card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slack_sdk.models.messages.chunk import Chunk, PlanUpdateChunk, TaskUpdateChunk

from core.models import Status

TITLE_MAX = 150  # a task title is a short line; ours are far shorter
ID_MAX = 64

STATES = {"running": "in_progress", "done": "complete", "failed": "error"}


def task_id(step: str) -> str:
    """A stable, plain id for a step (the model's tool-call ids may carry any characters)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", step)[:ID_MAX] or "step"


@dataclass
class TaskChunks:
    """Task updates of one streamed message, waiting for a call to carry them."""

    enabled: bool = True  # off for the rest of the answer once Slack refused a chunk (then: assistant status)
    plan_title: str | None = None  # plan display mode: the plan's title, sent with the first task
    pending: list[Chunk] = field(default_factory=list)
    open: dict[str, str] = field(default_factory=dict)  # task id -> title, shown running and not yet ended
    seen: set[str] = field(default_factory=set)  # every task id this answer reported (each appears once)

    def add(self, status: Status) -> bool:
        """Queue the update `status` means; False when it means none (no step, repeated, ended before start)."""
        if not status.step or not self.enabled:
            return False
        ident, title = task_id(status.step), status.text.strip()[:TITLE_MAX]
        if status.state == "running":
            if ident in self.seen or not title:
                return False
            self.seen.add(ident)
            self.open[ident] = title
            if self.plan_title and len(self.seen) == 1:
                self.pending.append(PlanUpdateChunk(title=self.plan_title[:TITLE_MAX]))
        elif ident in self.open:
            title = title or self.open[ident]
            del self.open[ident]
        else:
            return False
        self._queue(TaskUpdateChunk(id=ident, title=title, status=STATES[status.state]))
        return True

    def take(self) -> list[Chunk]:
        """What waits, for the call about to go out (emptied: a failed call's chunks are not sent again)."""
        if not self.enabled:
            self.pending = []
        chunks, self.pending = self.pending, []
        return chunks

    def closing(self, failed: bool) -> list[Chunk]:
        """The message ends: what waits plus the end of every task still open."""
        for ident, title in list(self.open.items()):
            self._queue(TaskUpdateChunk(id=ident, title=title, status="error" if failed else "complete"))
        self.open.clear()
        return self.take()

    def off(self) -> None:
        self.enabled = False
        self.pending = []
        self.open.clear()

    def _queue(self, chunk: TaskUpdateChunk) -> None:
        self.pending = [c for c in self.pending if not (isinstance(c, TaskUpdateChunk) and c.id == chunk.id)]
        self.pending.append(chunk)
