"""Telegram's edge function: one update -> who is asking, where, and what they may read (core.audience.Audience).

The tenant is the deployment's configured Telegram tenant (`DESKMATE_ACCESS__TELEGRAM_TENANT`), never the bot's
id: a group's administrator administers that group, not the bot. Telegram users are customers: they read public
documents only, unless `DESKMATE_ACCESS__USERS` maps their id (`telegram:<id>`) to groups (DMs), or the bot profile
grants their group (`retrieval.channels`). Chat administrators are asked live (getChatMember) for admin commands.
"""

from __future__ import annotations

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat

from adapters.telegram.admin import in_allow_list
from adapters.telegram.settings import TelegramSettings
from core.audience import AccessSettings, Audience, Place, resolve_audience
from core.knowledge.options import RetrievalOptions
from core.profile import BotProfile

log = structlog.get_logger("deskmate.telegram")


def place_of(chat: Chat, topic: bool) -> Place:
    if chat.type == "private":
        return "dm"
    return "forum_topic" if topic else "group"


async def chat_admin(bot: Bot, chat: Chat, user_id: int) -> bool:
    """Whether `user_id` administers this group (getChatMember); a private chat has no administrators."""
    if chat.type == "private":
        return False
    try:
        member = await bot.get_chat_member(chat_id=chat.id, user_id=user_id)
    except TelegramAPIError as exc:  # unknown: not an admin
        log.warning("telegram_admin_check_failed", error=type(exc).__name__, chat_id=chat.id)
        return False
    return member.status in ("creator", "administrator")


async def audience_of(bot: Bot, settings: TelegramSettings, access: AccessSettings, profile: BotProfile,
                      chat: Chat, user_id: int | None, *, topic: bool = False,
                      ask_chat_admin: bool = False) -> Audience:
    """The audience of one update. `ask_chat_admin`: ask Telegram whether the user administers the group (admin
    commands); plain messages skip that call (a chat admin reads what their chat is granted, like everyone)."""
    user = str(user_id) if user_id is not None else str(chat.id)
    options = RetrievalOptions.model_validate(profile.retrieval)
    grant = options.channels.get(str(chat.id))
    admin = ask_chat_admin and user_id is not None and await chat_admin(bot, chat, user_id)
    return resolve_audience(
        access, platform="telegram", tenant=access.telegram_tenant, user=user, channel=str(chat.id),
        place=place_of(chat, topic), platform_admin=admin, employee=False,
        bot_groups=options.access_groups, channel_groups=grant.access_groups if grant is not None else None,
        allow_listed=in_allow_list(settings, user_id),
    )
