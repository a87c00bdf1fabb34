"""Render one engine reply stream in Telegram, from nothing but the Inbound (so any worker can answer)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import structlog
from aiogram import Bot
from aiogram.utils.chat_action import ChatActionSender

from adapters.telegram.format import citations_footer
from adapters.telegram.keyboards import confirm_keyboard, feedback_keyboard
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.streamer import Body, ReplyStreamer, Target
from core.language import reply_language
from core.models import CitationEvent, Error, Final, Inbound, NeedsConfirmation, ReplyEvent, TextDelta
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
    )


class TelegramResponder:
    platform = "telegram"

    def __init__(self, bot: Bot, settings: TelegramSettings, services: Services) -> None:
        self.bot = bot
        self.settings = settings
        self.services = services

    def streamer(self, target: Target) -> ReplyStreamer:
        s = self.settings
        return ReplyStreamer(self.bot, target, draft_interval_s=s.draft_interval_s,
                             edit_interval_s=s.edit_interval_s, max_interval_s=s.max_interval_s,
                             metrics=self.services.metrics)

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        target = target_of(inbound)
        streamer = self.streamer(target)
        typing = ChatActionSender.typing(bot=self.bot, chat_id=target.chat_id, message_thread_id=target.thread_id)
        typing_on = False
        citations = []
        proposals: list[NeedsConfirmation] = []
        final: Final | None = None
        error: Error | None = None
        started = time.perf_counter()
        try:
            await typing.__aenter__()
            typing_on = True
            async for event in events:
                if isinstance(event, TextDelta):
                    streamer.append(event.text)
                elif isinstance(event, CitationEvent):
                    citations.append(event.citation)
                elif isinstance(event, NeedsConfirmation):
                    proposals.append(event)
                elif isinstance(event, Final):
                    final = event
                elif isinstance(event, Error):
                    error = event
                if typing_on and streamer.first_text_at is not None:
                    typing_on = False
                    await typing.__aexit__(None, None, None)
        finally:
            if typing_on:
                await typing.__aexit__(None, None, None)
        lang = reply_language(inbound.text, inbound.locale)  # the engine answers in the message's language too
        if final is not None:
            cited = list(final.citations) or citations
            footer = citations_footer(cited, text("telegram_sources", lang)) if cited else ("", "")
            await streamer.finish(final.text, footer, feedback_keyboard(final.reply_id))
        elif error is not None:
            shown = (streamer.committed + streamer.pending).strip()
            await streamer.finish(f"{shown}\n\n{error.message}" if shown else error.message)
        else:
            await streamer.finish(None)
        for proposal in proposals:
            await self.send_proposal(streamer, proposal, lang, inbound.user)
        log.info("telegram_replied", request_id=final.reply_id if final else None, chat_id=target.chat_id,
                 mode=streamer.mode, api_calls=streamer.calls, messages=len(streamer.sent_ids),
                 plain=streamer.plain, outcome="final" if final else "error" if error else "none",
                 total_ms=round((time.perf_counter() - started) * 1000, 1))

    async def send_proposal(self, streamer: ReplyStreamer, proposal: NeedsConfirmation, locale: str | None,
                            owner: str = "") -> None:
        streamer.mode = "edit"
        streamer.message_id = None
        await streamer._persist(Body.of(proposal.summary), confirm_keyboard(proposal.proposal_id, locale, owner))
