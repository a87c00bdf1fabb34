"""Who is an admin on Telegram, and the command menus each audience sees (setMyCommands + scopes)."""

from __future__ import annotations

import structlog
from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeChat, BotCommandScopeDefault

from adapters.telegram.settings import TelegramSettings
from core.texts import text

log = structlog.get_logger("deskmate.telegram")

ADMIN_COMMANDS = ("features", "enable", "disable", "reset", "stats", "help")
MENU_LANGUAGES = ("en", "ru")  # menus are published per Telegram language code; "en" is also the default
ADMIN_MENU_KEYS = (("features", "menu_features"), ("enable", "menu_enable"), ("disable", "menu_disable"),
                   ("reset", "menu_reset"), ("stats", "menu_stats"), ("help", "menu_admin_help"))


def customer_menu(language: str) -> list[BotCommand]:
    return [BotCommand(command="help", description=text("menu_help", language)),
            BotCommand(command="human", description=text("menu_human", language))]


def admin_menu(language: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=text(k, language)) for c, k in ADMIN_MENU_KEYS]


def in_allow_list(settings: TelegramSettings, user_id: int | None) -> bool:
    return user_id is not None and str(user_id) in {u.strip() for u in settings.admin_users}


async def publish_menus(bot: Bot, settings: TelegramSettings) -> None:
    """Customers see /help; allow-listed admins (in their private chat) and group admins see the admin menu.

    The menu is a convenience only: every admin command is authorized again when it runs.
    """
    for lang in MENU_LANGUAGES:
        code = None if lang == "en" else lang  # no language code: the menu for every other language
        await bot.set_my_commands(customer_menu(lang), scope=BotCommandScopeDefault(), language_code=code)
        await bot.set_my_commands(admin_menu(lang), scope=BotCommandScopeAllChatAdministrators(), language_code=code)
        for user in settings.admin_users:
            if user.strip().lstrip("-").isdigit():
                await bot.set_my_commands(admin_menu(lang), scope=BotCommandScopeChat(chat_id=int(user)),
                                          language_code=code)
