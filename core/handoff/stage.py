"""The handoff stage (after PII masking): while a person has the conversation the bot stays silent and the message
goes to the inbox thread; otherwise the triggers may open a handoff (asked for a person, two 👎 in a row before the
message; an abstained answer or a failed tool after it)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis.asyncio as aioredis

from core.engine import Next
from core.handoff.desk import HandoffDesk
from core.handoff.triggers import asks_for_person, is_command
from core.language import reply_language
from core.models import Error, Final, ReplyEvent, TextDelta, ToolResult
from core.state.keys import key
from core.texts import text
from core.turn import Turn

REPLIES_KEPT_S = 86_400


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
        if not desk.available or not opts.enabled:
            if inbound.action is None and is_command(inbound.text):  # `/human` with nobody to hand over to
                language = reply_language("", inbound.locale or turn.profile.language)
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
            if inbound.action is None and (inbound.text.strip() or inbound.attachments):
                await desk.from_customer(active, inbound, masked)
            note = text("handoff_on_it", active.language) if await desk.note_once(active) else ""
            yield Error(code="handoff_active", message=note, reply_id=turn.reply_id)
            return

        language = turn.language
        if inbound.text.lstrip().startswith("/"):  # `/human`: no words to detect, the user's app language
            language = reply_language("", inbound.locale or turn.profile.language)
        reason = None
        if inbound.action is None and opts.on("asked") and asks_for_person(inbound.text):
            reason = "asked"
        elif opts.on("downvotes") and await self._two_downs(conversation, inbound.user):
            reason = "downvotes"
        if reason is not None:
            opened = await self._open(turn, reason, language, masked, answer=None)
            if opened:
                turn.facts["handoff"] = f"opened:{reason}"
                yield Error(code="handoff_opened", message=text("handoff_opened", language), reply_id=turn.reply_id)
                return
            if reason == "asked" and not inbound.text.lstrip().startswith("/"):
                pass  # no inbox or one already open: the bot answers as usual
            elif reason == "asked":
                yield Error(code="handoff_unavailable", message=text("handoff_unavailable", language),
                            reply_id=turn.reply_id)
                return

        tool_failed = False
        async for event in call_next(turn):
            if isinstance(event, ToolResult) and not event.ok:
                tool_failed = True
            if isinstance(event, Final):
                why = ("abstained" if turn.abstained and opts.on("abstained")
                       else "tool_failed" if tool_failed and opts.on("tool_failed") else None)
                if why is not None and await self._open(turn, why, turn.language, masked, answer=event.text):
                    turn.facts["handoff"] = f"opened:{why}"
                    note = text("handoff_joining", turn.language)
                    yield TextDelta(text=f"\n\n{note}")
                    event = event.model_copy(update={"text": f"{event.text}\n\n{note}"})
                else:
                    await self._remember_reply(conversation, event.reply_id)
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

    # -- two 👎 in a row (votes read through the feedback store's public API)

    async def _remember_reply(self, conversation: str, reply_id: str) -> None:
        name = key("handoff", "replies", conversation)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lpush(name, f"{reply_id}|{time.time()}")
            pipe.ltrim(name, 0, 1)
            pipe.expire(name, REPLIES_KEPT_S)
            await pipe.execute()

    async def _two_downs(self, conversation: str, user: str) -> bool:
        feedback = self.desk.feedback
        if feedback is None:
            return False
        name = key("handoff", "replies", conversation)
        recent = [r.decode().split("|")[0] for r in await self.redis.lrange(name, 0, 1)]
        if len(recent) < 2:
            return False
        votes = [await feedback.vote(reply_id, user) for reply_id in recent]
        if all(v is not None and v.value == "down" for v in votes):
            await self.redis.delete(name)
            return True
        return False
