"""Inline keyboards: feedback thumbs on a final answer, Confirm/Cancel on a proposed tool call."""

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


def feedback_keyboard(reply_id: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="👍", callback_data=ReplyButton(action="up", ref=reply_id))
    builder.button(text="👎", callback_data=ReplyButton(action="down", ref=reply_id))
    return builder.as_markup()


def confirm_keyboard(proposal_id: str, locale: str | None, owner: str = "") -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text("telegram_confirm", locale),
                   callback_data=ReplyButton(action="ok", owner=owner, ref=proposal_id))
    builder.button(text=text("telegram_cancel", locale),
                   callback_data=ReplyButton(action="no", owner=owner, ref=proposal_id))
    return builder.as_markup()
