"""Render one engine reply stream in Telegram through the shared reply loop (core/reply/loop.py), from nothing
but the Inbound (so any worker can answer).

`TelegramReplySink` is Telegram's side of the loop: typing while the bot works and nothing is shown yet, text
through `TelegramWriter` (streamer.py), the sources footer and feedback buttons under the last part, each
proposal as its own message with Confirm/Cancel. The streamed message's id is recorded as soon as it exists, so
a worker that takes the message over after a crash finishes that message instead of sending a second one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.chat_action import ChatActionSender

from adapters.telegram.format import SPLIT_AT, citations_footer, visible_length
from adapters.telegram.keyboards import confirm_keyboard, feedback_keyboard, stop_keyboard
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.streamer import Body, Limits, Target, TelegramWriter
from core.edits.answering import Answering
from core.language import reply_language
from core.models import Inbound, NeedsConfirmation, ReplyEvent, Status
from core.reply.budget import RateBudget
from core.reply.loop import ReplyLoop, ReplyOutcome
from core.reply.record import ReplyParts, ReplyRecords
from core.services import Services
from core.texts import text

log = structlog.get_logger("deskmate.telegram")


def target_of(inbound: Inbound) -> Target:
    extras = inbound.extras
    thread = extras.get("thread_id")
    reply_to = extras.get("reply_to")
    return Target(
        chat_id=int(extras.get("chat_id", inbound.channel)),
        thread_id=int(thread) if thread else None,
        reply_to=int(reply_to) if reply_to else None,
        private=extras.get("chat_type", "private" if inbound.is_private else "group") == "private",
        bot=inbound.tenant,
    )


class TelegramReplySink:
    part_limit = SPLIT_AT  # leaves room for UTF-16 surrogate pairs and the sources under 4,096
    batch_chars = None

    def __init__(self, responder: TelegramResponder, inbound: Inbound, writer: TelegramWriter) -> None:
        self.responder = responder
        self.inbound = inbound
        self.writer = writer
        self.lang = reply_language(inbound.text, inbound.locale)  # the engine answers in the message's language
        t = writer.target
        self.typing = ChatActionSender.typing(bot=writer.bot, chat_id=t.chat_id, message_thread_id=t.thread_id)
        self.typing_on = False
        self.started = time.perf_counter()

    @property
    def interval_s(self) -> float:
        return self.writer.interval_s

    async def begin(self) -> None:
        await self.typing.__aenter__()
        self.typing_on = True

    async def status(self, status: Status) -> None:
        """Typing says "working"; it stops while the bot waits for the user (a Confirm/Cancel is being asked for).
        No status line: before the first text it would cost a message or draft of its own (rate budget)."""
        if status.step.startswith("confirm:") and status.state == "done":
            await self._typing_off()

    async def tool(self, event: Any) -> None:
        return None

    async def preview(self, part: str) -> float:
        wait = await self.writer.preview(part)
        if not wait:
            await self._typing_off()  # the user sees text now
        return wait

    async def seal(self, part: str) -> None:
        body = Body.of(part)
        if body.plain.strip():
            await self.writer.persist(body, None)

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        final, w = outcome.final, self.writer
        if outcome.proposals or outcome.error is not None:
            await self._typing_off()  # the prompt or the error shown next: the bot is no longer working
        footer: tuple[str, str] = ("", "")
        markup = None
        if final is not None:
            cited = outcome.sources
            footer = citations_footer(cited, text("telegram_sources", self.lang)) if cited else ("", "")
            markup = feedback_keyboard(final.reply_id, (self.inbound.user, self.lang) if final.offer_person else None)
        rest = part.strip()
        if footer[0] and rest and len(rest) + visible_length(footer[0]) + 2 > SPLIT_AT:
            await self.seal(rest)  # the sources do not fit under the last part: they get their own message
            rest = ""
        body = Body.of(rest, footer)
        if body.plain.strip():
            await w.persist(body, markup)
        await self._drop_leftovers()
        for proposal in outcome.proposals:
            await self.send_proposal(proposal)
        log.info("telegram_replied", request_id=final.reply_id if final else None, chat_id=w.target.chat_id,
                 mode=w.mode, api_calls=w.calls, messages=len(w.sent_ids), plain=w.plain, refusals=w.refusals,
                 outcome="final" if final else "error" if outcome.error else "none",
                 total_ms=round((time.perf_counter() - self.started) * 1000, 1), **outcome.tail_ms())

    async def _drop_leftovers(self) -> None:
        """Taken over with a shorter answer: the dead worker's extra messages go, so no stale part stays."""
        parts = self.writer.parts
        if parts is None or not parts.leftovers():
            return
        for message_id in parts.leftovers():
            try:
                await self.writer.bot.delete_message(chat_id=self.writer.target.chat_id, message_id=int(message_id))
            except TelegramAPIError as exc:
                log.warning("telegram_leftover_delete_failed", error=type(exc).__name__)
        await parts.forget_leftovers()

    async def send_proposal(self, proposal: NeedsConfirmation) -> None:
        markup = confirm_keyboard(proposal.proposal_id, self.lang, self.inbound.user)
        await self.writer.send_new(Body.of(proposal.summary), markup)

    async def close(self) -> None:
        await self._typing_off()

    async def _typing_off(self) -> None:
        if self.typing_on:
            self.typing_on = False
            await self.typing.__aexit__(None, None, None)


class TelegramResponder:
    platform = "telegram"

    def __init__(self, bot: Bot, settings: TelegramSettings, services: Services) -> None:
        self.bot = bot
        self.settings = settings
        self.services = services
        self.budget = RateBudget(services.redis)
        self.ids = ReplyRecords(services.redis)
        self.limits = Limits(draft_per_s=1 / settings.draft_interval_s)  # drafts: our own pace (no documented limit)

    def writer(self, target: Target, taken_over: int | None = None,
               parts: ReplyParts | None = None) -> TelegramWriter:
        s = self.settings
        return TelegramWriter(self.bot, target, draft_interval_s=s.draft_interval_s,
                              edit_interval_s=s.edit_interval_s, metrics=self.services.metrics,
                              budget=self.budget, limits=self.limits, taken_over=taken_over, parts=parts)

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        target = target_of(inbound)
        lang = reply_language(inbound.text, inbound.locale)
        async with Answering(self.services.edits, inbound, events, lang) as answer:  # edits (core/edits)
            if answer.skip:
                return
            # A dead worker's half-written messages, or the answer an edited question's answer replaces: each part
            # goes into the earlier message for it; the sink deletes the ones no longer needed.
            parts = await ReplyParts.load(self.ids, inbound, "message_id")
            if not parts.taken_over and answer.replaces("message_id"):
                earlier = [answer.replaces("message_id"), *answer.stale("message_id")]
                parts = ReplyParts(self.ids, inbound, "message_id", earlier)
            if parts.taken_over:
                log.info("telegram_reply_taken_over", chat_id=target.chat_id, messages=len(parts.earlier))
            writer = self.writer(target, parts=parts)
            if answer.stoppable:  # Stop: a button on the streamed message; Telegram's own on a draft
                writer.stop_markup = stop_keyboard(answer.stoppable, lang)
                chat = target.chat_id

                async def hold(draft_id: int) -> None:
                    await answer.hold(f"draft:{chat}:{draft_id}")

                writer.on_draft = hold
            await ReplyLoop(TelegramReplySink(self, inbound, writer)).run(answer.events)
            answer.show({"message_id": [int(i) for i in parts.ids]})
