"""Telegram's side of edited questions (core/edits).

The Bot API sends an `edited_message` update with the new version of a message the bot received (same
`message_id`, `edit_date` set; also for changes the bot does not use, so an unchanged text changes nothing).
Only the author can edit a message. Deletions are NOT sent to bots in ordinary private chats and groups: the
only deletion update, `deleted_business_messages`, is for chats of a connected business account. A question
deleted in Telegram therefore leaves its answer as it is (README: Edited and deleted questions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from redis.exceptions import RedisError

from adapters.telegram.inbound import from_message
from adapters.telegram.settings import TelegramSettings
from core.audience import Audience
from core.edits.ledger import as_edit
from core.models import Inbound
from core.services import Services

log = structlog.get_logger("deskmate.telegram.edits")

REDIS_DOWN = (RedisError, OSError)


async def asked(services: Services, inbound: Inbound, message: Message) -> None:
    """Remember a question as it is queued, so its edits are followed."""
    if services.edits is None:
        return
    try:
        await services.edits.asked(inbound, _seconds(message.date))
    except REDIS_DOWN as exc:  # still answered; only its edits are not followed
        log.warning("telegram_question_not_recorded", error=type(exc).__name__)


async def edited(message: Message, question: str, bot: Bot, services: Services, tg: TelegramSettings,
                 audience: Audience) -> None:
    """An `edited_message` addressed to the bot: answered again (replacing the answer) when the ledger says so."""
    if services.edits is None or message.text is None:  # a caption (voice, photo) is not followed
        return
    inbound = from_message(bot, tg, message, question, audience)
    at = _seconds(message.edit_date or message.date)
    try:
        decision = await services.edits.edited(inbound, at)
    except REDIS_DOWN as exc:
        log.warning("telegram_edit_unavailable", error=type(exc).__name__)
        return
    log.info("telegram_edit", outcome=decision.status, version=decision.version, chat_id=message.chat.id,
             chars=len(question))
    if decision.status == "ok":
        await services.dispatcher.submit(as_edit(inbound, decision.version))


def _seconds(value: datetime | int | float) -> float:
    """A Bot API date (aiogram gives `date` as a datetime, `edit_date` as Unix seconds) in Unix seconds."""
    return value.timestamp() if isinstance(value, datetime) else float(value)


async def delete_parts(bot: Bot, chat_id: int, parts: list[Any]) -> None:
    """Remove the later messages of a replaced answer (its first message now shows the new answer)."""
    for message_id in parts:
        try:
            await bot.delete_message(chat_id=chat_id, message_id=int(message_id))
        except TelegramAPIError as exc:
            log.info("telegram_old_part_not_deleted", error=type(exc).__name__, chat_id=chat_id)
