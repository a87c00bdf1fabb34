"""Actions stage: Confirm/Cancel presses on proposed tool calls (runs right after the PII stage).

A press arrives as an `Inbound` with `action=Action(kind="confirm"|"cancel", ref=proposal_id)`. Only the
user who got the proposal may resolve it; an expired or already-handled proposal runs nothing. The reply
is templated (it names the ticket number, for example) and is added to the conversation memory (masked)
so the model knows about it in the next turn. Other actions (feedback) pass through untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from core.engine import Next
from core.models import Final, ReplyEvent, Status, TextDelta
from core.texts import text
from core.tools.runner import ToolRunner
from core.turn import Turn


class ActionStage:
    name = "actions"

    def __init__(self, runner: ToolRunner, memory: Any = None) -> None:
        self.runner = runner
        self.memory = memory  # core.memory.window.ConversationMemory, optional

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        action = turn.inbound.action
        if action is None or action.kind not in ("confirm", "cancel"):
            async for event in call_next(turn):
                yield event
            return
        turn.facts["action"] = action.kind
        summary, history = "", []
        proposal = await self.runner.proposals.get(action.ref)
        conversation = proposal.conversation if proposal else turn.inbound.conversation_key
        if self.memory is not None and proposal is not None:
            summary, history = await self.memory.load(conversation)
        inbound = turn.inbound
        tool = self.runner.registry.get(proposal.tool) if proposal is not None else None
        step = label = ""
        if action.kind == "confirm" and tool is not None and proposal is not None \
                and proposal.belongs_to(inbound.platform, inbound.tenant, inbound.user):
            step, label = f"tool:{proposal.id}", text(tool.progress_key, turn.language, tool=tool.name)
            yield Status(text=label, step=step)  # "calling the ticket system" while the confirmed tool runs
        reply = await self.runner.resolve(turn, action, history=history, summary=summary)
        if step:
            yield Status(text=label, step=step, state="done" if turn.used_tools else "failed")
        yield TextDelta(text=reply)
        yield Final(reply_id=turn.reply_id, text=reply, used_tools=turn.used_tools)
        if self.memory is not None and turn.used_tools:
            await self.memory.append(conversation, [{"role": "assistant", "content": await turn.mask(reply)}],
                                     turn.reply_id)
