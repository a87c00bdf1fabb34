"""One streamed reply on Telegram: drafts or throttled edits, splitting at 4096, formatting fallback, 429s.

Private chats stream with `sendMessageDraft` and persist with `sendMessage`; groups (or when drafts are
refused) send a first message and `editMessageText` it at an adaptive pace. A background flusher pushes
the latest text when the pace allows, so a pause in the model's output never hides text already received.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramNotFound, TelegramRetryAfter
from aiogram.types import InlineKeyboardMarkup, ReplyParameters

from adapters.telegram.format import SPLIT_AT, split_first, to_html, visible_length

log = structlog.get_logger("deskmate.telegram.stream")

Mode = Literal["draft", "edit"]
SOFT_LIMIT = SPLIT_AT  # a streamed part is cut and persisted once it grows past this
MAX_ATTEMPTS = 6  # for the calls that must land (the final text, completed parts)


@dataclass(frozen=True)
class Target:
    """Where the reply goes; built from `Inbound.extras` alone."""

    chat_id: int
    thread_id: int | None = None
    reply_to: int | None = None
    private: bool = False


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


@dataclass
class Pace:
    """Seconds between visible updates: starts at `base`, grows by `retry_after` on a 429, eases back."""

    base: float
    ceiling: float
    interval: float = 0.0
    next_at: float = 0.0

    def __post_init__(self) -> None:
        self.interval = self.base

    def sent(self) -> None:
        self.interval = max(self.base, self.interval * 0.9)
        self.next_at = time.monotonic() + self.interval

    def throttled(self, retry_after: float) -> None:
        self.interval = min(self.ceiling, max(self.interval, self.base) + retry_after)
        self.next_at = time.monotonic() + max(retry_after, self.interval)


def api_method(exc: TelegramRetryAfter) -> str:
    """The Bot API method a 429 came from (`editMessageText`): a bounded metrics label."""
    return str(getattr(exc.method, "__api_method__", None) or type(exc.method).__name__)


def is_parse_error(exc: TelegramBadRequest) -> bool:
    return "can't parse entities" in exc.message.lower() or "unsupported parse_mode" in exc.message.lower()


def is_not_modified(exc: TelegramBadRequest) -> bool:
    return "message is not modified" in exc.message.lower()


class ReplyStreamer:
    """Append text as it streams; `finish` persists the whole answer (split if needed) with a keyboard."""

    def __init__(self, bot: Bot, target: Target, *, draft_interval_s: float, edit_interval_s: float,
                 max_interval_s: float, metrics: Any = None) -> None:
        self.bot = bot
        self.metrics = metrics  # core.ops.metrics.Metrics (services.metrics): 429s and retries
        self.target = target
        self.mode: Mode = "draft" if target.private else "edit"
        self.pace = Pace(draft_interval_s if self.mode == "draft" else edit_interval_s, max_interval_s)
        self.edit_interval_s = edit_interval_s
        self.plain = False  # set once Telegram rejects our formatting: the rest goes as plain text
        self.committed = ""  # text already persisted in completed messages
        self.pending = ""  # text of the part being streamed
        self.message_id: int | None = None  # edit mode: the message showing `pending`
        self.shown = ""  # what the current draft/message shows (source text), to skip no-op updates
        self.draft_id = random.randint(1, 2**31 - 1)
        self.sent_ids: list[int] = []
        self.calls = 0
        self.first_text_at: float | None = None
        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._lock = asyncio.Lock()  # one Bot API call for this reply at a time, in order
        self._flusher: asyncio.Task[None] | None = None

    # -- streaming

    def append(self, text: str) -> None:
        if not text:
            return
        self.pending += text
        self._dirty.set()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="telegram-flush")

    async def _flush_loop(self) -> None:
        while not self._closing.is_set():
            await self._dirty.wait()
            if self._closing.is_set():
                return
            delay = self.pace.next_at - time.monotonic()
            if delay > 0:
                closing = asyncio.create_task(self._closing.wait())
                try:
                    await asyncio.wait({closing}, timeout=delay)
                finally:
                    closing.cancel()
                if self._closing.is_set():
                    return
            self._dirty.clear()
            try:
                await self._push()
            except Exception as exc:  # the final text is sent by finish(); a lost preview is not fatal
                log.warning("telegram_preview_failed", error=type(exc).__name__, chat_id=self.target.chat_id)

    async def _push(self) -> None:
        async with self._lock:
            while len(self.pending) > SOFT_LIMIT:
                snapshot = self.pending
                head, rest = split_first(snapshot)
                if not rest:
                    break
                consumed = len(snapshot) - len(rest)
                await self._persist(Body.of(head), markup=None)
                # text may have been appended while we were sending: keep it
                self.committed += snapshot[:consumed]
                self.pending = self.pending[consumed:]
            if not self.pending.strip() or self.pending == self.shown:
                return
            text = self.pending
            try:
                if self.mode == "draft":
                    await self._draft(text)
                elif self.message_id is None:
                    self.message_id = await self._send(Body.of(text), markup=None)
                else:
                    await self._edit(self.message_id, Body.of(text), markup=None)
            except TelegramRetryAfter as exc:
                self.pace.throttled(exc.retry_after)
                self._dirty.set()  # the flusher tries again once the pace allows
                self._count(exc, retry=True)
                log.info("telegram_throttled", retry_after=exc.retry_after, interval_s=self.pace.interval,
                         mode=self.mode)
                return
            self.shown = text
            self.pace.sent()
            if self.first_text_at is None:
                self.first_text_at = time.perf_counter()

    async def _draft(self, text: str) -> None:
        body = Body.of(text)
        try:
            await self._call_formatted(
                lambda value, mode: self.bot.send_message_draft(
                    chat_id=self.target.chat_id, draft_id=self.draft_id, text=value, parse_mode=mode,
                    message_thread_id=self.target.thread_id,
                ),
                body,
            )
        except (TelegramBadRequest, TelegramForbiddenError, TelegramNotFound) as exc:
            # Drafts refused (old server, not a private chat...): stream by editing a message instead.
            log.info("telegram_drafts_refused", error=type(exc).__name__)
            self.mode = "edit"
            self.pace = Pace(self.edit_interval_s, self.pace.ceiling)
            self.message_id = await self._send(body, markup=None)

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

    async def _send(self, body: Body, markup: InlineKeyboardMarkup | None) -> int:
        reply = (ReplyParameters(message_id=self.target.reply_to, allow_sending_without_reply=True)
                 if self.target.reply_to and not self.sent_ids else None)
        message = await self._call_formatted(
            lambda value, mode: self.bot.send_message(
                chat_id=self.target.chat_id, text=value, parse_mode=mode, message_thread_id=self.target.thread_id,
                reply_parameters=reply, reply_markup=markup,
            ),
            body,
        )
        self.sent_ids.append(message.message_id)
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
        """A call whose text must reach the user: wait out 429s (as told by retry_after) and try again."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await call()
            except TelegramRetryAfter as exc:
                self.pace.throttled(exc.retry_after)
                self._count(exc, retry=True)
                log.info("telegram_throttled", retry_after=exc.retry_after, attempt=attempt, final=True)
                await asyncio.sleep(exc.retry_after)
        try:
            return await call()
        except TelegramRetryAfter as exc:
            self._count(exc, retry=False)
            raise

    def _count(self, exc: TelegramRetryAfter, *, retry: bool) -> None:
        """Report a 429 (and the retry that follows it) to the operations metrics; never raises."""
        if self.metrics is None:
            return
        try:
            method = api_method(exc)
            self.metrics.platform_api_rate_limited("telegram", method)
            if retry:
                self.metrics.platform_api_retry("telegram", method)
        except Exception:
            log.warning("telegram_metrics_failed")

    async def _persist(self, body: Body, markup: InlineKeyboardMarkup | None) -> None:
        """Make `body` a permanent message: edit the streamed one (edit mode) or send a new one."""
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
        self.shown = ""
        self.draft_id = random.randint(1, 2**31 - 1)
        self.pace.sent()

    # -- the end

    async def finish(self, text: str | None, footer: tuple[str, str] = ("", ""),
                     markup: InlineKeyboardMarkup | None = None) -> list[int]:
        """Persist the whole answer. `text` is the authoritative full text (None: what was streamed)."""
        await self._stop_flusher()
        async with self._lock:
            if text is not None and text.startswith(self.committed):
                self.pending = text[len(self.committed):]
            elif text is not None and not self.committed:
                self.pending = text
            parts: list[str] = []
            rest = self.pending.strip()
            while len(rest) > SOFT_LIMIT:
                head, rest = split_first(rest)
                parts.append(head)
            footer_html = footer[0]
            if footer_html and rest and len(rest) + visible_length(footer_html) + 2 > SOFT_LIMIT:
                parts.append(rest)
                rest = ""
            if rest or not parts or footer_html:
                parts.append(rest)
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                body = Body.of(part, footer if last else ("", ""))
                if body.plain.strip():
                    await self._persist(body, markup if last else None)
        return list(self.sent_ids)

    async def _stop_flusher(self) -> None:
        self._closing.set()
        self._dirty.set()
        if self._flusher is not None:
            await self._flusher
            self._flusher = None
