"""Telegram message/callback -> core.Inbound, with the ids the responder needs kept in `extras`."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import CallbackQuery, Chat, Message, User

from adapters.telegram.settings import TelegramSettings
from core.audience import Audience
from core.models import Action, Attachment, Inbound


def conversation_thread(message: Message) -> int | None:
    """Forum topics are separate conversations; plain reply chains in a group are not."""
    return message.message_thread_id if message.is_topic_message and message.message_thread_id else None


def _extras(bot: Bot, chat: Chat, thread: int | None, reply_to: int | None) -> dict[str, object]:
    return {"chat_id": chat.id, "chat_type": chat.type, "thread_id": thread, "reply_to": reply_to, "bot_id": bot.id}


def from_message(bot: Bot, settings: TelegramSettings, message: Message, text: str, audience: Audience,
                 attachments: tuple[Attachment, ...] = ()) -> Inbound:
    user: User | None = message.from_user
    thread = conversation_thread(message)
    return Inbound(
        platform="telegram", bot=settings.bot, tenant=audience.tenant, channel=str(message.chat.id),
        thread=str(thread) if thread else None, user=str(user.id) if user else str(message.chat.id),
        text=text, message_id=f"{message.chat.id}:{message.message_id}", attachments=attachments,
        is_admin=audience.is_admin, is_private=message.chat.type == "private", audience=audience,
        locale=user.language_code if user else None,
        # "question": the platform message, whose edits are followed (core/edits)
        extras={**_extras(bot, message.chat, thread, message.message_id),
                "question": f"{message.chat.id}:{message.message_id}"},
    )


def from_callback(bot: Bot, settings: TelegramSettings, query: CallbackQuery, action: Action,
                  audience: Audience) -> Inbound | None:
    message = query.message
    if message is None:
        return None
    thread = message.message_thread_id if isinstance(message, Message) and message.is_topic_message else None
    return Inbound(
        platform="telegram", bot=settings.bot, tenant=audience.tenant, channel=str(message.chat.id),
        thread=str(thread) if thread else None, user=str(query.from_user.id), action=action,
        message_id=f"cb:{query.id}", is_admin=audience.is_admin, is_private=message.chat.type == "private",
        audience=audience,
        locale=query.from_user.language_code, extras=_extras(bot, message.chat, thread, message.message_id),
    )
