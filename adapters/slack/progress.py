"""The engine's progress steps as Slack task cards: `task_update` chunks in the streamed message.

Each `Status` with a step ("kb", "confirm:<call>", "tool:<call>") becomes one task: `in_progress` when the step
starts, `complete` (or `error`) when it ends; a step is shown once, and every task still open when the message
ends is closed with it (`error` when the answer failed). Chunks wait here until a call carries them: a call of
their own only when the workspace's stream budget has room to spare (`SlackWriter._send_tasks`), otherwise the
next text append or the stopStream takes them along, so progress never costs the text a call. Two updates of
the same task waiting together go out as the later one. In a call that also carries text, a card reported before
the message had any text goes before it (the search is complete before the answer), one reported later goes
after it (a tool's card after the words that announced it), as a timeline would have shown them. The title is
one of our texts (core/texts/), never the user's words, so no personal data can reach a task card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from slack_sdk.models.messages.chunk import Chunk, PlanUpdateChunk, TaskUpdateChunk

from core.models import Status

TITLE_MAX = 150  # a task title is a short line; ours are far shorter
ID_MAX = 64
MAX_TASKS = 12  # cards per answer: a model calling tool after tool does not flood the message (or the budget)

STATES = {"running": "in_progress", "done": "complete", "failed": "error"}


def task_id(step: str) -> str:
    """A stable, plain id for a step (the model's tool-call ids may carry any characters)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", step)[:ID_MAX] or "step"


@dataclass
class TaskChunks:
    """Task updates of one streamed message, waiting for a call to carry them."""

    enabled: bool = True  # off for the rest of the answer once Slack refused a chunk (then: assistant status)
    plan_title: str | None = None  # plan display mode: the plan's title, sent with the first task
    pending: list[tuple[Chunk, bool]] = field(default_factory=list)  # (chunk, before the message's text)
    open: dict[str, str] = field(default_factory=dict)  # task id -> title, shown running and not yet ended
    seen: set[str] = field(default_factory=set)  # every task id this answer reported (each appears once)
    urgent: bool = False  # a tool is starting: its card is worth a call of its own (no text comes meanwhile)

    def add(self, status: Status, lead: bool = True) -> bool:
        """Queue the update `status` means (`lead`: the message has no text yet); False when it means none (no
        step, repeated, ended before it started)."""
        if not status.step or not self.enabled:
            return False
        ident, title = task_id(status.step), status.text.strip()[:TITLE_MAX]
        if status.state == "running":
            if ident in self.seen or not title or len(self.seen) >= MAX_TASKS:
                return False
            self.seen.add(ident)
            self.open[ident] = title
            self.urgent = self.urgent or status.step.startswith("tool:")
            if self.plan_title and len(self.seen) == 1:
                self.pending.append((PlanUpdateChunk(title=self.plan_title[:TITLE_MAX]), True))
        elif ident in self.open:
            title = title or self.open[ident]
            del self.open[ident]
        else:
            return False
        self._queue(TaskUpdateChunk(id=ident, title=title, status=STATES[status.state]), lead)
        return True

    def take(self) -> tuple[list[Chunk], list[Chunk]]:
        """What waits, for the call about to go out: (before its text, after it). Emptied: a failed call's
        chunks are not sent again."""
        if not self.enabled:
            self.pending = []
        waiting, self.pending, self.urgent = self.pending, [], False
        return [c for c, lead in waiting if lead], [c for c, lead in waiting if not lead]

    def closing(self, failed: bool) -> tuple[list[Chunk], list[Chunk]]:
        """The message ends: what waits plus the end of every task still open (after the last text)."""
        for ident, title in list(self.open.items()):
            self._queue(TaskUpdateChunk(id=ident, title=title, status="error" if failed else "complete"), False)
        self.open.clear()
        return self.take()

    def off(self) -> None:
        self.enabled = False
        self.pending = []
        self.open.clear()

    def _queue(self, chunk: TaskUpdateChunk, lead: bool) -> None:
        earlier = [w for w in self.pending if isinstance(w[0], TaskUpdateChunk) and w[0].id == chunk.id]
        if earlier:  # the later update replaces the waiting one, in its place
            lead = earlier[0][1]
        self.pending = [w for w in self.pending if w not in earlier]
        self.pending.append((chunk, lead))
