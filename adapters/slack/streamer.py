"""One answer written into a Slack thread: native streaming, with a postMessage + update fallback.

Native: `chat.startStream` -> `chat.appendStream`* -> `chat.stopStream` through slack_sdk's `chat_stream`
(buffer_size=1, so each `append` is one call) with our own batching: the first text goes out at once
(latency), later text when `stream_batch_chars` are buffered or `stream_flush_s` has passed.
When Slack refuses streaming or a stream dies (`message_not_in_streaming_state` after ~5 minutes) the
writer continues with `chat.postMessage` + `chat.update` (at most one update per `update_interval_s`)
without losing text: the whole text so far is written into the streamed message (or a new one).
Answers longer than `max_message_chars` continue in a follow-up message in the same thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import split_text, text_sections
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.settings import SlackSettings

log = structlog.get_logger("deskmate.slack.stream")


@dataclass(frozen=True)
class Target:
    """Where a reply goes; built from `Inbound.extras` so any worker process can reply."""

    channel: str
    thread_ts: str
    team: str
    user: str
    in_channel: bool  # a channel (not a DM): streaming needs the recipient user/team ids
    assistant: bool = False  # a Slack assistant thread: status + suggested prompts


class ReplyWriter:
    def __init__(self, client: AsyncWebClient, target: Target, settings: SlackSettings) -> None:
        self.client = client
        self.target = target
        self.settings = settings
        self.native = settings.native_streaming
        self.text = ""  # everything written, all messages (Markdown)
        self.messages: list[str] = []  # ts of every message this answer used
        self.calls = 0
        self._msg = ""  # Markdown of the current message
        self._sent = 0  # native: characters of _msg Slack already has
        self._stream: AsyncChatStream | None = None
        self._ts: str | None = None  # the current message's ts
        self._last = 0.0  # time of the last append/update

    # -- public

    async def add(self, text: str) -> None:
        """Write more text; starts, batches, splits and falls back as needed."""
        if not text:
            return
        self.text += text
        room = self.settings.max_message_chars - len(self._msg)
        while len(text) > room:
            head, text = _fit(text, room)
            self._msg += head
            await self._end_message(blocks=None)
            room = self.settings.max_message_chars
        self._msg += text
        await self._flush(force=False)

    async def finish(self, blocks: list[dict[str, Any]]) -> str | None:
        """Deliver the rest of the text and put `blocks` (sources, feedback) under the last message."""
        if not self._msg and not self.messages and not blocks:
            return None
        await self._end_message(blocks=blocks)
        return self.messages[-1] if self.messages else None

    # -- internals

    async def _flush(self, force: bool) -> None:
        if self.native:
            pending = len(self._msg) - self._sent
            due = (self._stream is None or self._stream.ts is None or force
                   or pending >= self.settings.stream_batch_chars
                   or time.monotonic() - self._last >= self.settings.stream_flush_s)
            if pending and due:
                await self._append()
        elif self._ts is None or force or time.monotonic() - self._last >= self.settings.update_interval_s:
            await self._post_or_update(blocks=None)

    async def _append(self) -> None:
        if self._stream is None:
            t = self.target
            self._stream = await self.client.chat_stream(
                buffer_size=1, channel=t.channel, thread_ts=t.thread_ts,
                recipient_team_id=t.team if t.in_channel else None,
                recipient_user_id=t.user if t.in_channel else None,
            )
        upto = len(self._msg)
        try:
            self.calls += 1
            await self._stream.append(markdown_text=self._msg[self._sent:upto])
        except SlackApiError as exc:
            await self._fall_back(exc)
            return
        self._sent = upto
        self._ts = self._stream.ts
        self._last = time.monotonic()

    async def _fall_back(self, exc: SlackApiError) -> None:
        """Streaming refused or dead: carry on with postMessage + update, keeping every character."""
        log.warning("slack_stream_fallback", error=_code(exc), channel=self.target.channel,
                    streamed_chars=self._sent)
        self.native = False
        self._ts = self._stream.ts if self._stream is not None else None
        self._stream = None
        await self._post_or_update(blocks=None)

    async def _post_or_update(self, blocks: list[dict[str, Any]] | None) -> None:
        mrkdwn = to_mrkdwn(self._msg) if self._msg.strip() else " "
        full_blocks = (text_sections(mrkdwn) + blocks) if blocks else None
        notify = mrkdwn[:3_000]
        if self._ts is not None:
            try:
                self.calls += 1
                await self.client.chat_update(channel=self.target.channel, ts=self._ts,
                                              text=notify if blocks else mrkdwn, blocks=full_blocks)
                self._last = time.monotonic()
                return
            except SlackApiError as exc:  # e.g. the message is still locked by a dead stream: post anew
                log.warning("slack_update_failed", error=_code(exc), channel=self.target.channel)
        self.calls += 1
        resp = await self.client.chat_postMessage(channel=self.target.channel, thread_ts=self.target.thread_ts,
                                                  text=notify if blocks else mrkdwn, blocks=full_blocks)
        self._ts = str(resp["ts"])
        self._last = time.monotonic()

    async def _end_message(self, blocks: list[dict[str, Any]] | None) -> None:
        if self.native:
            if self._stream is None and not self._msg:
                if blocks:  # nothing was streamed, only blocks to show
                    resp = await self.client.chat_postMessage(channel=self.target.channel,
                                                              thread_ts=self.target.thread_ts, text=" ", blocks=blocks)
                    self.messages.append(str(resp["ts"]))
                return
            if self._stream is None or self._stream.ts is None:
                await self._append()  # the first text goes through startStream (or falls back)
            if self.native and self._stream is not None:
                try:
                    self.calls += 1
                    await self._stream.stop(markdown_text=self._msg[self._sent:] or None, blocks=blocks or None)
                    self._sent = len(self._msg)
                    self._finish_message(self._stream.ts)
                    return
                except SlackApiError as exc:
                    await self._fall_back(exc)
        await self._post_or_update(blocks=blocks)
        self._finish_message(self._ts)

    def _finish_message(self, ts: str | None) -> None:
        if ts:
            self.messages.append(ts)
        self._msg, self._sent, self._stream, self._ts = "", 0, None, None


def _fit(text: str, room: int) -> tuple[str, str]:
    """Split `text` so the head fits `room` characters (at a boundary when possible)."""
    if room <= 0:
        return "", text
    head = split_text(text, room)[0]
    return head, text[len(head):]


def _code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except Exception:
        return "unknown"
