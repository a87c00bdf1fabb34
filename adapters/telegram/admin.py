"""Who is an admin on Telegram, and the command menus each audience sees (setMyCommands + scopes)."""

from __future__ import annotations

import structlog
from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeChat, BotCommandScopeDefault

from adapters.telegram.settings import TelegramSettings

log = structlog.get_logger("deskmate.telegram")

ADMIN_COMMANDS = ("features", "enable", "disable", "reset", "stats", "help")
CUSTOMER_MENU = [BotCommand(command="help", description="How to ask me a question")]
ADMIN_MENU = [
    BotCommand(command="features", description="Features on here and where each value comes from"),
    BotCommand(command="enable", description="Turn a feature on: /enable <feature>"),
    BotCommand(command="disable", description="Turn a feature off: /disable <feature>"),
    BotCommand(command="reset", description="Inherit a feature's value again: /reset <feature>"),
    BotCommand(command="stats", description="Usage, cache and feedback numbers"),
    BotCommand(command="help", description="Admin commands"),
]


def in_allow_list(settings: TelegramSettings, user_id: int | None) -> bool:
    return user_id is not None and str(user_id) in {u.strip() for u in settings.admin_users}


async def publish_menus(bot: Bot, settings: TelegramSettings) -> None:
    """Customers see /help; allow-listed admins (in their private chat) and group admins see the admin menu.

    The menu is a convenience only: every admin command is authorized again when it runs.
    """
    await bot.set_my_commands(CUSTOMER_MENU, scope=BotCommandScopeDefault())
    await bot.set_my_commands(ADMIN_MENU, scope=BotCommandScopeAllChatAdministrators())
    for user in settings.admin_users:
        if user.strip().lstrip("-").isdigit():
            await bot.set_my_commands(ADMIN_MENU, scope=BotCommandScopeChat(chat_id=int(user)))
