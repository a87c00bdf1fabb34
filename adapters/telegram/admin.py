"""Who is an admin on Telegram, and the command menus each audience sees (setMyCommands + scopes)."""

from __future__ import annotations

import structlog
from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeChat, BotCommandScopeDefault

from adapters.telegram.settings import TelegramSettings
from core.texts import text

log = structlog.get_logger("deskmate.telegram")

ADMIN_COMMANDS = ("features", "enable", "disable", "reset", "stats", "limit", "gaps", "help")
MENU_LANGUAGES = ("en", "ru")  # menus are published per Telegram language code; "en" is also the default
# What a group's own administrators may use (their chat's features); the rest is for the deployment's admins.
CHAT_ADMIN_MENU_KEYS = (("features", "menu_features"), ("enable", "menu_enable"), ("disable", "menu_disable"),
                        ("reset", "menu_reset"), ("help", "menu_admin_help"))
ADMIN_MENU_KEYS = (*CHAT_ADMIN_MENU_KEYS[:-1], ("stats", "menu_stats"), ("limit", "menu_limit"),
                   ("gaps", "menu_gaps"), CHAT_ADMIN_MENU_KEYS[-1])


def customer_menu(language: str) -> list[BotCommand]:
    return [BotCommand(command="help", description=text("menu_help", language)),
            BotCommand(command="human", description=text("menu_human", language))]


def admin_menu(language: str, *, chat_admin: bool = False) -> list[BotCommand]:
    keys = CHAT_ADMIN_MENU_KEYS if chat_admin else ADMIN_MENU_KEYS
    return [BotCommand(command=c, description=text(k, language)) for c, k in keys]


def in_allow_list(settings: TelegramSettings, user_id: int | None) -> bool:
    return user_id is not None and str(user_id) in {u.strip() for u in settings.admin_users}


async def publish_menus(bot: Bot, settings: TelegramSettings) -> None:
    """Customers see /help; group admins see their chat's commands; allow-listed admins (in their private chat) see all.

    The menu is a convenience only: every admin command is authorized again when it runs.
    """
    for lang in MENU_LANGUAGES:
        code = None if lang == "en" else lang  # no language code: the menu for every other language
        await bot.set_my_commands(customer_menu(lang), scope=BotCommandScopeDefault(), language_code=code)
        await bot.set_my_commands(admin_menu(lang, chat_admin=True), scope=BotCommandScopeAllChatAdministrators(),
                                  language_code=code)
        for user in settings.admin_users:
            if user.strip().lstrip("-").isdigit():
                await bot.set_my_commands(admin_menu(lang), scope=BotCommandScopeChat(chat_id=int(user)),
                                          language_code=code)
