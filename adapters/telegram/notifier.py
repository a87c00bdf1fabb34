"""Escalation hand-over notes posted to a Telegram chat (the `Notifier` port of core/tools/escalation.py).

Target: a chat id (`-1001234567890` for a group or channel, a user id for a private chat) or a public
`@channelname`, as in `DESKMATE_TOOLS__ESCALATION_TARGET=telegram:-1001234567890`. The bot must be a
member of that chat (an administrator with "post messages" in a channel). The note is already masked by core
and is sent as plain text (no parse mode), split at Telegram's 4096-character limit.
"""

from __future__ import annotations

import structlog
from aiogram import Bot

from adapters.telegram.format import capped_parts

log = structlog.get_logger("deskmate.telegram.notifier")


def chat_of(target: str) -> int | str:
    """`-100123` -> -100123; `@helpdesk` stays a string; anything else is a clear error."""
    target = target.strip()
    if target.startswith("@") and len(target) > 1:
        return target
    try:
        return int(target)
    except ValueError:
        raise ValueError(f"Telegram escalation target must be a chat id or @channel, got {target!r}") from None


class TelegramNotifier:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def notify(self, target: str, text: str) -> None:
        """Send `text` to chat `target`; a Bot API error raises (core stores the note anyway)."""
        chat_id = chat_of(target)
        parts = capped_parts(text)
        for part in parts:
            await self.bot.send_message(chat_id=chat_id, text=part, parse_mode=None)
        log.info("telegram_escalation_posted", chat_id=str(chat_id), parts=len(parts), chars=len(text))
