"""Who Deskmate answers: every private message; in groups only when mentioned, replied to, or commanded."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import Message


class Addressed(Filter):
    """Passes messages meant for the bot and hands the handler `question`: the text without the mention."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        if message.from_user is None or message.from_user.is_bot:
            return False
        text = message.text or message.caption or ""
        if message.chat.type == "private":
            return {"question": strip_command(text, None)}
        me = await bot.me()
        username = (me.username or "").lower()
        entities = message.entities or message.caption_entities or []
        mentioned = False
        for entity in entities:
            if entity.type == "mention":
                if entity.extract_from(text).lower() == f"@{username}":
                    mentioned = True
            elif entity.type == "text_mention" and entity.user and entity.user.id == bot.id:
                mentioned = True
        replied = bool(
            message.reply_to_message and message.reply_to_message.from_user
            and message.reply_to_message.from_user.id == bot.id
        )
        commanded = text.startswith("/") and _command_is_ours(text, username)
        if not (mentioned or replied or commanded):
            return False
        question = strip_command(text, username) if commanded else text
        if username:
            question = _strip_mention(question, username)
        return {"question": question.strip()}


def _command_is_ours(text: str, username: str) -> bool:
    head = text.split(maxsplit=1)[0]
    return "@" not in head or head.split("@", 1)[1].lower() == username


def strip_command(text: str, username: str | None) -> str:
    """`/ask@bot how do I...` -> `how do I...`; other text unchanged."""
    if not text.startswith("/"):
        return text.strip()
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def _strip_mention(text: str, username: str) -> str:
    lowered, tag = text.lower(), f"@{username}"
    while tag in lowered:
        i = lowered.index(tag)
        text, lowered = text[:i] + text[i + len(tag):], lowered[:i] + lowered[i + len(tag):]
    return " ".join(text.split(" ")).strip()
