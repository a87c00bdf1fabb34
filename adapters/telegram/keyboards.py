"""Inline keyboards: feedback thumbs on a final answer (and "talk to a person" under uncertain ones), Confirm/Cancel
on a proposed tool call, Stop under an answer being written."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from core.texts import text


class ReplyButton(CallbackData, prefix="dm"):
    """Packed as `dm:<action>:<owner>:<ref>` (<= 64 bytes): ref is a reply id or a proposal id; owner is the
    user a proposal was made for ("" on feedback buttons), so a stranger's press leaves the buttons in place."""

    action: Literal["up", "down", "ok", "no"]
    owner: str = ""
    ref: str


ActionKind = Literal["feedback_up", "feedback_down", "confirm", "cancel"]
ACTION_KINDS: dict[str, ActionKind] = {"up": "feedback_up", "down": "feedback_down", "ok": "confirm", "no": "cancel"}


class PersonButton(CallbackData, prefix="dmh"):
    """"Talk to a person": `dmh:<owner>:<lang>:<ref>` (<= 64 bytes). owner: the user the answer was for (in a
    group only they, or a chat admin, may press it); lang: the answer's language; ref: the reply id or "start"."""

    owner: str = ""
    lang: str = "en"
    ref: str = "start"


class StopButton(CallbackData, prefix="dms"):
    """Stop under an answer being written: `dms:<lang>:<version>:<question message id>` (the question's chat is the
    pressed message's chat; core/edits/ledger.py decides who may stop it)."""

    lang: str = "en"
    version: int = 0
    question: int


def stop_keyboard(token: str, lang: str) -> InlineKeyboardMarkup | None:
    """The Stop button for an answer (`token` = `<version>:<chat id>:<question message id>`, Answering.stoppable)."""
    version, _, ref = token.partition(":")
    message = ref.rpartition(":")[2]
    if not version.isdigit() or not message.isdigit():
        return None
    builder = InlineKeyboardBuilder()
    builder.button(text="⏹ " + text("stop_button", lang),
                   callback_data=StopButton(lang=lang[:2], version=int(version), question=int(message)))
    return builder.as_markup()


def person_label(lang: str) -> str:
    from core.handoff.files import note

    return note("handoff_person", "label", lang)


def feedback_keyboard(reply_id: str, person: tuple[str, str] | None = None) -> InlineKeyboardMarkup:
    """👍 👎, and below them "talk to a person" when `person` = (owner, language) is given."""
    builder = InlineKeyboardBuilder()
    builder.button(text="👍", callback_data=ReplyButton(action="up", ref=reply_id))
    builder.button(text="👎", callback_data=ReplyButton(action="down", ref=reply_id))
    if person is not None:
        owner, lang = person
        builder.button(text=person_label(lang), callback_data=PersonButton(owner=owner, lang=lang, ref=reply_id))
        builder.adjust(2, 1)
    return builder.as_markup()


def person_keyboard(owner: str, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=person_label(lang), callback_data=PersonButton(owner=owner, lang=lang))
    return builder.as_markup()


def confirm_keyboard(proposal_id: str, locale: str | None, owner: str = "") -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text("telegram_confirm", locale),
                   callback_data=ReplyButton(action="ok", owner=owner, ref=proposal_id))
    builder.button(text=text("telegram_cancel", locale),
                   callback_data=ReplyButton(action="no", owner=owner, ref=proposal_id))
    return builder.as_markup()
