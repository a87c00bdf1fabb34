"""When the bot should bring a person in: the user asks for one (en/ru), or 👎 twice in a row."""

from __future__ import annotations

import re

from core.audience import Audience

_EN = re.compile(
    r"\b(?:(?:talk|speak|chat|connect\s+me|put\s+me\s+through)\s+(?:to|with)\s+(?:a\s+|an\s+|the\s+|some\s+)?"
    r"(?:real\s+|live\s+)?(?:human|person|agent|operator|someone|somebody|representative|rep|staff|support\s+team)"
    r"|(?:need|want|get\s+me|give\s+me|can\s+i\s+(?:get|have))\s+(?:a\s+|an\s+|to\s+talk\s+to\s+a\s+)?"
    r"(?:real\s+|live\s+)?(?:human|person|agent|operator|representative)\b"
    r"|\b(?:real|live)\s+(?:human|person|agent|operator)\b"
    r"|\bhuman\s+(?:agent|support|operator|please)\b)",
    re.IGNORECASE,
)
_RU = re.compile(
    r"(?:позов\w*|соедин\w*|переключ\w*|свяж\w*|дай\w*|нуж\w*|хочу|можно)\s+(?:\w+\s+){0,3}?"
    r"(?:с\s+|на\s+)?(?:оператор\w*|живо\w*\s+человек\w*|человек\w*|сотрудник\w*|специалист\w*|менеджер\w*)"
    r"|живо\w*\s+(?:человек\w*|оператор\w*)"
    r"|^\s*(?:оператор\w*|человек\w*)\s*[!.?]*\s*$",
    re.IGNORECASE,
)
COMMANDS = frozenset({"/human", "/operator", "/person", "/человек", "/оператор"})


def is_command(text: str) -> bool:
    """`/human` (or `/human@bot`, `/оператор`...)."""
    stripped = text.strip()
    return bool(stripped) and stripped.split(maxsplit=1)[0].split("@", 1)[0].lower() in COMMANDS


def asks_for_person(text: str) -> bool:
    """The user asks to talk to a person (English or Russian), or typed `/human`."""
    stripped = text.strip()
    if is_command(stripped):
        return True
    if stripped.lower() in ("human", "operator", "agent", "human please"):
        return True
    return bool(_EN.search(stripped) or _RU.search(stripped))


def may_call_person(audience: Audience, owner: str) -> bool:
    """Who may press "talk to a person" under an answer: in a private chat the one person there; in a shared place
    (a group, a channel thread) the user the answer was for, or someone who administers that place."""
    return not audience.shared_place or not owner or owner == audience.user or audience.is_admin
