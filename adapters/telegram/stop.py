"""Telegram's side of Stop (core/edits): the Stop button under an answer being written in a group (or wherever
drafts are refused), and Telegram's own stop button on a draft (`sendMessageDraft` with `can_stop`, Bot API 10.3:
the bot then receives a `stopped_message_generation` update with the chat and the draft id).

Either way the ledger decides: only the asker, or an admin (a deployment admin, or the group's administrator),
may stop an answer, and only while it is written. The answer itself ends within a poll, with "stopped".
"""

from __future__ import annotations

import structlog
from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Chat, MessageGenerationStopped
from aiogram.types import Message as TgMessage
from redis.exceptions import RedisError

from adapters.telegram.edge import audience_of
from adapters.telegram.keyboards import StopButton
from adapters.telegram.settings import TelegramSettings
from core.services import Services
from core.texts import text

log = structlog.get_logger("deskmate.telegram.stop")

REDIS_DOWN = (RedisError, OSError)


async def stop_answer(bot: Bot, services: Services, tg: TelegramSettings, chat: Chat, user_id: int, ref: str,
                      version: int, topic: bool = False) -> str:
    """Ask the ledger to stop question `ref`'s answer at `version` for `user_id`: "ok", "not_yours", "over",
    "unknown" or "unavailable". A stranger's press counts when they administer the chat."""
    ledger, tenant = services.edits, services.access.telegram_tenant
    if ledger is None:
        return "unavailable"
    try:
        status = await ledger.stop("telegram", tenant, ref, version, str(user_id), admin=False)
        if status == "not_yours":
            audience = await audience_of(bot, tg, services.access, services.profiles[tg.bot], chat, user_id,
                                         topic=topic, ask_chat_admin=True)
            if audience.is_admin:
                status = await ledger.stop("telegram", tenant, ref, version, str(user_id), admin=True)
    except REDIS_DOWN as exc:
        log.warning("telegram_stop_unavailable", error=type(exc).__name__)
        return "unavailable"
    log.info("telegram_stop", outcome=status, chat_id=chat.id, version=version)
    return status


def stop_router() -> Router:
    router = Router(name="deskmate-stop")

    @router.callback_query(StopButton.filter())
    async def on_stop(query: CallbackQuery, callback_data: StopButton, bot: Bot, services: Services,
                      tg: TelegramSettings) -> None:
        lang = callback_data.lang
        message = query.message
        if not isinstance(message, TgMessage):
            await query.answer()
            return
        status = await stop_answer(bot, services, tg, message.chat, query.from_user.id,
                                   f"{message.chat.id}:{callback_data.question}", callback_data.version,
                                   topic=bool(message.is_topic_message))
        if status == "not_yours":
            await query.answer(text("stop_not_yours", lang), show_alert=True)
        elif status == "ok":
            await query.answer(text("stop_done", lang))
        else:  # finished already (its final edit removes the button), or superseded: nothing to stop
            await query.answer(text("stop_over", lang))

    @router.stopped_message_generation()
    async def on_draft_stopped(event: MessageGenerationStopped, bot: Bot, services: Services,
                               tg: TelegramSettings) -> None:
        """Telegram's own stop on a draft: drafts exist in private chats, so the chat is the user who pressed."""
        if services.edits is None:
            return
        handle = f"draft:{event.chat.id}:{event.draft_id}"
        try:
            held = await services.edits.held("telegram", services.access.telegram_tenant, handle)
        except REDIS_DOWN as exc:
            log.warning("telegram_stop_unavailable", error=type(exc).__name__)
            return
        if held is None:
            log.info("telegram_stop", outcome="unknown_draft", chat_id=event.chat.id)
            return
        ref, version = held
        await stop_answer(bot, services, tg, event.chat, event.chat.id, ref, version)

    return router
