"""Telegram's calls for one reply's text: drafts or edits, permanent parts, formatting fallback, 429s,
each call paid from shared rate budgets (per chat, per group, per bot; core/reply/budget.py).

Private chats preview with `sendMessageDraft` and persist with `sendMessage`; groups (or when drafts are
refused) send a first message and `editMessageText` it. When and what to show is decided by the shared reply
loop (core/reply/loop.py); this class only knows the Bot API. Every message of the answer is recorded
(core/reply/record.py `ReplyParts`); a takeover edits the dead worker's messages part by part.
Stop (core/edits): drafts go with `can_stop` (Telegram's own stop button; `on_draft` names the answer by each new
draft id first), a streamed message carries `stop_markup` until its final edit replaces it.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramNotFound, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from adapters.telegram.format import to_html
from core.reply.budget import RateBudget, Scope
from core.reply.markdown import balance
from core.reply.record import ReplyParts

log = structlog.get_logger("deskmate.telegram.stream")

Mode = Literal["draft", "edit"]
MAX_ATTEMPTS = 6  # for the calls that must land (the final text, completed parts)


@dataclass(frozen=True)
class Target:
    """Where the reply goes; built from `Inbound.extras` alone."""

    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None
    private: bool = False
    bot: str = ""  # the bot's id (the per-bot rate scope)


@dataclass(frozen=True)
class Limits:
    """Telegram's flood limits as budgets: ~1 message or edit per second per chat, ~20 per minute in a group,
    ~30 per second per bot; drafts have their own per-chat pace, slowed by every retry_after."""

    chat_per_s: float = 1.0
    chat_burst: int = 3
    draft_per_s: float = 1.0
    draft_burst: int = 3
    group_per_min: float = 20.0
    group_burst: int = 5
    bot_per_s: float = 30.0
    safety: float = 0.9

    def scopes(self, target: Target, draft: bool) -> list[Scope]:
        s, bot, chat = self.safety, target.bot or "bot", target.chat_id
        out = [Scope(f"telegram:{bot}:all", self.bot_per_s * s, 1.0, int(self.bot_per_s))]
        if draft:
            return [Scope(f"telegram:{bot}:draft:{chat}", self.draft_per_s * s, 1.0, self.draft_burst), *out]
        out.insert(0, Scope(f"telegram:{bot}:chat:{chat}", self.chat_per_s * s, 1.0, self.chat_burst))
        if chat < 0:
            out.insert(1, Scope(f"telegram:{bot}:group:{chat}", self.group_per_min * s, 60.0, self.group_burst))
        return out


@dataclass(frozen=True)
class Body:
    """One message's text, as Telegram HTML and as the plain-text fallback."""

    html: str
    plain: str

    @classmethod
    def of(cls, text: str, footer: tuple[str, str] = ("", "")) -> Body:
        footer_html, footer_plain = footer
        text = text.strip()
        if not footer_html:
            return cls(to_html(text), text)
        if not text:
            return cls(footer_html, footer_plain)
        return cls(f"{to_html(text)}\n\n{footer_html}", f"{text}\n\n{footer_plain}")


def api_method(exc: TelegramRetryAfter) -> str:
    """The Bot API method a 429 came from (`editMessageText`): a bounded metrics label."""
    return str(getattr(exc.method, "__api_method__", None) or type(exc.method).__name__)


def is_parse_error(exc: TelegramBadRequest) -> bool:
    return "can't parse entities" in exc.message.lower() or "unsupported parse_mode" in exc.message.lower()


def is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message.lower()


class TelegramWriter:
    """Preview the part being written; persist parts; everything else is the reply loop's business."""

    def __init__(self, bot: Bot, target: Target, *, draft_interval_s: float, edit_interval_s: float,
                 metrics: Any = None, budget: RateBudget | None = None, limits: Limits | None = None,
                 taken_over: int | None = None, parts: ReplyParts | None = None) -> None:
        self.bot = bot
        self.metrics = metrics  # core.ops.metrics.Metrics (services.metrics): 429s and retries
        self.target = target
        self.budget = budget
        self.limits = limits or Limits()
        self.mode: Mode = "draft" if target.private else "edit"
        self.draft_interval_s = draft_interval_s
        self.edit_interval_s = edit_interval_s
        self.plain = False  # set once Telegram rejects our formatting: the rest goes as plain text
        self.message_id: int | None = taken_over  # edit mode: the message showing the current part
        self.parts = parts  # the crash record: every message of this answer, part by part
        if taken_over is not None or (parts is not None and parts.taken_over):  # finish the dead worker's messages
            self.mode = "edit"
        self.draft_id = random.randint(1, 2**31 - 1)
        self.sent_ids: list[int] = []
        self.calls = 0
        self.refusals = 0
        self.first_text_at: float | None = None
        self.on_message: Any = None  # async callback(message_id) once the streamed message exists
        self.stop_markup: InlineKeyboardMarkup | None = None  # a Stop button on the message being written
        self.on_draft: Any = None  # async callback(draft_id) before a draft id is first used; drafts can be stopped
        self._held_draft: int | None = None

    @property
    def interval_s(self) -> float:
        return self.draft_interval_s if self.mode == "draft" else self.edit_interval_s

    # -- previews

    async def preview(self, text: str) -> float:
        """Show the part being written; 0 = shown, else the seconds to wait before trying again."""
        draft = self.mode == "draft"
        if self.budget is not None:
            wait = await self.budget.try_take(self.limits.scopes(self.target, draft), preview=True)
            if wait > 0:
                return wait
        body = Body.of(balance(text))
        await self._claim()
        try:
            if draft:
                await self._draft(body)
            elif self.message_id is None:
                self.message_id = await self._send(body, markup=self.stop_markup)
            else:
                await self._edit(self.message_id, body, markup=self.stop_markup)
        except TelegramRetryAfter as exc:
            await self._throttled(exc, retry=True)
            return float(exc.retry_after)
        if self.first_text_at is None:
            self.first_text_at = asyncio.get_running_loop().time()
        return 0.0

    async def _draft(self, body: Body) -> None:
        stoppable = self.on_draft is not None
        if stoppable and self._held_draft != self.draft_id:
            self._held_draft = self.draft_id
            await self.on_draft(self.draft_id)
        try:
            await self._call_formatted(
                lambda value, mode: self.bot.send_message_draft(
                    chat_id=self.target.chat_id, draft_id=self.draft_id, text=value, parse_mode=mode,
                    message_thread_id=self.target.thread_id, can_stop=True if stoppable else None,
                ),
                body,
            )
        except (TelegramBadRequest, TelegramForbiddenError, TelegramNotFound) as exc:
            # Drafts refused (old server, not a private chat...): stream by editing a message instead.
            log.info("telegram_drafts_refused", error=type(exc).__name__)
            self.mode = "edit"
            self.message_id = await self._send(body, markup=self.stop_markup)

    # -- the calls

    async def _call_formatted(self, call: Any, body: Body) -> Any:
        """Send `body` as HTML; when Telegram rejects the formatting, resend it as plain text."""
        if not self.plain:
            try:
                self.calls += 1
                return await call(body.html, "HTML")
            except TelegramBadRequest as exc:
                if not is_parse_error(exc):
                    raise
                log.warning("telegram_markup_rejected", chat_id=self.target.chat_id)
                self.plain = True
        self.calls += 1
        return await call(body.plain, None)

    async def _claim(self) -> None:
        """Taken over: the part about to start goes into the dead worker's message for it, if there is one."""
        earlier = self.parts.reuse() if self.parts is not None and self.message_id is None else None
        if earlier is not None:
            self.mode, self.message_id = "edit", int(earlier)
            await self._announce(self.message_id)

    async def _announce(self, message_id: int) -> None:
        if self.parts is not None:
            await self.parts.shown(message_id)
        if self.on_message is not None:
            await self.on_message(message_id)

    async def _send(self, body: Body, markup: InlineKeyboardMarkup | None, part: bool = True) -> int:
        reply = (ReplyParameters(message_id=self.target.reply_to, allow_sending_without_reply=True)
                 if self.target.reply_to and not self.sent_ids and not (self.parts and self.parts.ids) else None)
        message = await self._call_formatted(
            lambda value, mode: self.bot.send_message(
                chat_id=self.target.chat_id, text=value, parse_mode=mode, message_thread_id=self.target.thread_id,
                reply_parameters=reply, reply_markup=markup,
            ),
            body,
        )
        self.sent_ids.append(message.message_id)
        if part:
            await self._announce(int(message.message_id))
        return int(message.message_id)

    async def _edit(self, message_id: int, body: Body, markup: InlineKeyboardMarkup | None) -> None:
        try:
            await self._call_formatted(
                lambda value, mode: self.bot.edit_message_text(
                    chat_id=self.target.chat_id, message_id=message_id, text=value, parse_mode=mode,
                    reply_markup=markup,
                ),
                body,
            )
        except TelegramBadRequest as exc:
            if not is_not_modified(exc):
                raise

    async def _must(self, call: Any) -> Any:
        """A call whose text must reach the user: wait for the budget, wait out 429s, try again."""
        for attempt in range(MAX_ATTEMPTS + 1):
            if self.budget is not None:
                await self.budget.take(self.limits.scopes(self.target, draft=False))
            try:
                return await call()
            except TelegramRetryAfter as exc:
                await self._throttled(exc, retry=attempt < MAX_ATTEMPTS)
                if attempt == MAX_ATTEMPTS:
                    raise
                log.info("telegram_throttled", retry_after=exc.retry_after, attempt=attempt, final=True)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")

    async def _throttled(self, exc: TelegramRetryAfter, *, retry: bool) -> None:
        """A 429: the scope it hit gets slower for everyone (budget), and operators see it (metrics)."""
        self.refusals += 1
        if self.budget is not None:
            draft = api_method(exc) == "sendMessageDraft"
            await self.budget.throttled(self.limits.scopes(self.target, draft)[0], float(exc.retry_after))
        if self.metrics is None:
            return
        try:
            method = api_method(exc)
            self.metrics.platform_api_rate_limited("telegram", method)
            if retry:
                self.metrics.platform_api_retry("telegram", method)
        except Exception:
            log.warning("telegram_metrics_failed")

    async def persist(self, body: Body, markup: InlineKeyboardMarkup | None) -> None:
        """Make `body` a permanent message: edit the streamed one (edit mode) or send a new one."""
        await self._claim()
        if self.mode == "edit" and self.message_id is not None:
            message_id = self.message_id
            try:
                await self._must(lambda: self._edit(message_id, body, markup))
            except TelegramBadRequest as exc:  # e.g. the message was deleted meanwhile
                log.info("telegram_edit_failed", error=type(exc).__name__)
                await self._must(lambda: self._send(body, markup))
        else:
            await self._must(lambda: self._send(body, markup))
        self.message_id = None
        if self.parts is not None:
            self.parts.next()
        self.draft_id = random.randint(1, 2**31 - 1)

    async def send_new(self, body: Body, markup: InlineKeyboardMarkup | None) -> None:
        """A separate message after the answer (a proposal with its Confirm/Cancel buttons)."""
        await self._must(lambda: self._send(body, markup, part=False))
