"""Memory stage: load the conversation window into the turn; append the exchange after the reply."""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.engine import Next
from core.memory.window import ConversationMemory
from core.models import Final, ReplyEvent
from core.pii.guard import masked_for_storage
from core.stages.answer_checks import answer_only
from core.turn import Turn


class MemoryStage:
    name = "memory"

    def __init__(self, memory: ConversationMemory) -> None:
        self.memory = memory

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        conversation = turn.inbound.conversation_key
        question = turn.inbound.extras.get("question")  # an edited question replaces its earlier exchange
        turn.summary, turn.history = await self.memory.load(conversation, without=question)
        turn.facts["history_messages"] = len(turn.history)
        final: Final | None = None
        async for event in call_next(turn):
            if isinstance(event, Final):
                final = event
            yield event
        if final is not None and turn.text:
            # Both texts are masked here (this stage runs inside the PII stage); checked once more before writing.
            user = await masked_for_storage(turn, turn.text, "memory")
            reply = await masked_for_storage(turn, answer_only(turn, final.text), "memory")
            if user is not None and reply is not None:
                await self.memory.append(
                    conversation, [{"role": "user", "content": user}, {"role": "assistant", "content": reply}],
                    turn.reply_id, question=question,
                )
