"""The handoff stage (after PII masking): while a person has the conversation the bot stays silent and the message
(text and files) goes to the inbox thread; otherwise the triggers may open a handoff (asked for a person, `/human` or
the "talk to a person" button before the message; an abstained answer or a failed tool after it). Two 👎 in a row
open it at the press (core/handoff/votes.py). Under uncertain answers the stage offers the button
(`Final.offer_person`, per profile `handoff.button`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import redis.asyncio as aioredis

from core.engine import Next
from core.handoff import votes
from core.handoff.desk import HandoffDesk
from core.handoff.files import note
from core.handoff.triggers import asks_for_person, is_command
from core.language import reply_language
from core.models import Error, Final, Inbound, ReplyEvent, TextDelta, ToolResult
from core.texts import text
from core.turn import Turn


def wants_person(inbound: Inbound) -> bool:
    """`/human` typed, or the "talk to a person" button pressed: a request, not words to detect."""
    if inbound.action is not None:
        return inbound.action.kind == "handoff"
    return is_command(inbound.text)


class HandoffStage:
    name = "handoff"

    def __init__(self, desk: HandoffDesk, redis: aioredis.Redis,
                 masked: Callable[[Turn], bool] = lambda turn: False) -> None:
        self.desk = desk
        self.redis = redis
        self.masked = masked  # whether the PII stage masked this turn's text (else the desk masks for agents)

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        desk, inbound = self.desk, turn.inbound
        opts = desk.options(inbound.bot)
        request = wants_person(inbound)
        if request or not inbound.text.strip() or inbound.text.lstrip().startswith("/"):
            # no words to detect (a command, the button, a file alone): the user's (or the button's) language
            language = reply_language("", inbound.locale or turn.profile.language)
        else:
            language = turn.language
        if not desk.available or not opts.enabled or (request and not opts.on("asked")):
            if request:  # `/human` or the button with nobody to hand over to
                yield Error(code="handoff_unavailable", message=text("handoff_unavailable", language),
                            reply_id=turn.reply_id)
                return
            async for event in call_next(turn):
                yield event
            return
        conversation = inbound.conversation_key
        masked = turn.text if self.masked(turn) else None
        active = await desk.active(conversation)
        if active is not None:  # a person has it: relay, stay silent (one note)
            turn.facts["handoff"] = active.status
            if request:  # pressed twice, or `/human` again: already with a colleague
                yield Error(code="handoff_active", message=note("handoff_person", "already", active.language),
                            reply_id=turn.reply_id)
                return
            if inbound.action is None and (inbound.text.strip() or inbound.attachments):
                await desk.from_customer(active, inbound, masked)
            on_it = text("handoff_on_it", active.language) if await desk.note_once(active) else ""
            yield Error(code="handoff_active", message=on_it, reply_id=turn.reply_id)
            return
        if inbound.action is None and inbound.attachments and not inbound.text.strip():
            # a file for the person, but the handoff ended before it was handled: say so, never answer emptiness
            yield Error(code="handoff_file_closed", message=note("handoff_file_notes", "closed", language),
                        reply_id=turn.reply_id)
            return

        if request or (inbound.action is None and opts.on("asked") and asks_for_person(inbound.text)):
            opened = await self._open(turn, "asked", language, masked, answer=None)
            if opened:
                turn.facts["handoff"] = "opened:asked"
                yield Error(code="handoff_opened", message=text("handoff_opened", language), reply_id=turn.reply_id)
                return
            if request:  # another press or worker opened it just now, or the inbox failed
                already = await desk.active(conversation) is not None
                yield Error(code="handoff_active" if already else "handoff_unavailable",
                            message=note("handoff_person", "already", language) if already
                            else text("handoff_unavailable", language), reply_id=turn.reply_id)
                return
            # asked in words but no inbox thread could be opened: the bot answers as usual

        tool_failed = False
        async for event in call_next(turn):
            if isinstance(event, ToolResult) and not event.ok:
                tool_failed = True
            if isinstance(event, Final):
                why = ("abstained" if turn.abstained and opts.on("abstained")
                       else "tool_failed" if tool_failed and opts.on("tool_failed") else None)
                if why is not None and await self._open(turn, why, turn.language, masked, answer=event.text):
                    turn.facts["handoff"] = f"opened:{why}"
                    joining = text("handoff_joining", turn.language)
                    yield TextDelta(text=f"\n\n{joining}")
                    event = event.model_copy(update={"text": f"{event.text}\n\n{joining}"})
                else:
                    await votes.remember(self.redis, conversation, event.reply_id, turn.language)
                    if inbound.action is None and opts.on("asked") and (
                            opts.button == "always" or (opts.button == "uncertain"
                                                        and (turn.abstained or turn.low_evidence))):
                        event = event.model_copy(update={"offer_person": True})
            yield event

    async def _open(self, turn: Turn, reason: str, language: str, masked: str | None, answer: str | None) -> bool:
        desk, inbound = self.desk, turn.inbound
        summary, history = "", []
        if desk.memory is not None:
            summary, history = await desk.memory.load(inbound.conversation_key)
        current: list[dict[str, Any]] = []
        if inbound.text.strip() and inbound.action is None and not inbound.text.lstrip().startswith("/"):
            current.append({"role": "user", "content": masked if masked is not None else inbound.text})
        if answer:
            current.append({"role": "assistant", "content": answer})
        opened = await desk.open(inbound, reason=reason, language=language, history=history + current,
                                 summary=summary, unmask=turn.unmask if masked is not None else None)
        if opened is not None and answer is None and current:
            # the bot does not answer this message: keep it in memory for the person and the transcript
            await desk.remember(opened, "user", inbound.text, masked)
        return opened is not None
