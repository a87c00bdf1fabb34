"""Telegram and the human handoff: `/human` (also in the command menu) asks for a person, and an agent's words
from the operator inbox reach the customer in their chat (the `CustomerChannel` port of core/handoff/ports.py)."""

from __future__ import annotations

import structlog
from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import Message

from adapters.telegram.edge import audience_of
from adapters.telegram.format import capped_parts
from adapters.telegram.inbound import from_message
from adapters.telegram.settings import TelegramSettings
from core.handoff.state import Handoff
from core.services import Services

log = structlog.get_logger("deskmate.telegram.handoff")

HUMAN_COMMAND = "human"


class TelegramCustomerChannel:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, h: Handoff, body: str) -> None:
        """Plain text (no parse mode: an agent's `<` or `*` is shown as typed), split at Telegram's limit."""
        chat_id = int(h.reply_to.get("chat_id") or h.channel)
        thread = h.reply_to.get("thread_id")
        parts = capped_parts(body)
        for part in parts:
            await self.bot.send_message(chat_id=chat_id, text=part, parse_mode=None,
                                        message_thread_id=int(thread) if thread else None)
        log.info("telegram_handoff_delivered", handoff=h.id, chat_id=chat_id, parts=len(parts))


def handoff_router() -> Router:
    """`/human`: the request goes through the engine like any message (the handoff stage opens it), so it is
    queued, deduplicated and ordered with the customer's other messages."""
    router = Router(name="deskmate-handoff")
    router.message.filter(F.from_user, ~F.from_user.is_bot)

    @router.message(Command(HUMAN_COMMAND))
    async def on_human(message: Message, bot: Bot, services: Services, tg: TelegramSettings) -> None:
        audience = await audience_of(bot, tg, services.access, services.profiles[tg.bot], message.chat,
                                     message.from_user.id if message.from_user else None,
                                     topic=bool(message.is_topic_message))
        log.info("telegram_human_requested", chat_id=message.chat.id)
        await services.dispatcher.submit(from_message(bot, tg, message, f"/{HUMAN_COMMAND}", audience))

    return router
