"""Memory stage: load the conversation window into the turn; append the exchange after the reply.

A reply cut before its end (the user pressed Stop; also an edit, a deletion or a shutdown, core/edits) keeps
what was shown: the question and the text streamed so far, so a follow-up ("go on") sees it. An edit's answer
replaces that exchange and a deletion removes it (core/edits/ledger.py), as for a finished answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.engine import Next
from core.memory.window import ConversationMemory
from core.models import Final, ReplyEvent, TextDelta
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
        shown: list[str] = []  # the text streamed so far (masked): what a reply cut before its end keeps

        async def keep_cut() -> None:
            if final is None and "".join(shown).strip():
                await self._keep(turn, answer_only(turn, "".join(shown)), question)

        turn.on_cut.append(keep_cut)  # the engine calls it when the reply is cut (Stop, edit, deletion, shutdown)
        async for event in call_next(turn):
            if isinstance(event, Final):
                final = event
            elif isinstance(event, TextDelta):
                shown.append(event.text)
            yield event
        if final is not None:
            await self._keep(turn, answer_only(turn, final.text), question)

    async def _keep(self, turn: Turn, answer: str, question: str | None) -> None:
        if not turn.text:
            return
        # Both texts are masked here (this stage runs inside the PII stage); checked once more before writing.
        user = await masked_for_storage(turn, turn.text, "memory")
        reply = await masked_for_storage(turn, answer, "memory")
        if user is not None and reply is not None:
            await self.memory.append(
                turn.inbound.conversation_key,
                [{"role": "user", "content": user}, {"role": "assistant", "content": reply}],
                turn.reply_id, question=question,
            )
