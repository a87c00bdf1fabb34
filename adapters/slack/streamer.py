"""Slack's calls for one reply (a `core.reply.loop.ReplySink`): native streaming with a postMessage + update
fallback, each call paid from the workspace's shared rate budget.

Native: `chat.startStream` -> `chat.appendStream`* -> `chat.stopStream` through slack_sdk's `chat_stream`
(buffer_size=1, so each `append` is one call); the loop decides when. When Slack refuses streaming or a stream
dies (`message_not_in_streaming_state` after ~5 minutes) the sink continues with `chat.postMessage` +
`chat.update` without losing text: the whole text so far is written into the streamed message (or a new one).
The streamed Markdown goes through `stream_markdown` (tables as aligned code blocks, held back until whole).
Every message's ts is recorded (core/reply/record.py `ReplyParts`) as soon as it exists, so a worker that takes
the message over after a crash writes each part into the dead worker's message for it instead of posting again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import Chunk, MarkdownTextChunk
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import text_sections
from adapters.slack.mrkdwn import stream_markdown, to_mrkdwn
from adapters.slack.progress import TaskChunks
from adapters.slack.settings import SlackSettings
from core.models import Status
from core.reply.budget import RateBudget, Scope
from core.reply.markdown import balance
from core.reply.record import ReplyParts

log = structlog.get_logger("deskmate.slack.stream")

STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")


@dataclass(frozen=True)
class Target:
    """Where a reply goes; built from `Inbound.extras` so any worker process can reply."""

    channel: str
    thread_ts: str
    team: str
    user: str
    in_channel: bool  # a channel (not a DM): streaming needs the recipient user/team ids
    assistant: bool = False  # a Slack assistant thread: status + suggested prompts
    workspace: str = ""  # the bot's workspace (the rate-limit scope); `team` is the recipient's


def scopes(settings: SlackSettings, target: Target, method: str) -> list[Scope]:
    """The shared budgets a call draws from: per workspace and method tier; postMessage also per channel."""
    team = target.workspace or target.team
    safety = settings.rate_safety
    if method in STREAM_METHODS:
        return [Scope(f"slack:{team}:{method}", settings.stream_calls_per_min * safety, 60.0, settings.stream_burst)]
    if method == "chat.update":
        return [Scope(f"slack:{team}:chat.update", settings.update_calls_per_min * safety, 60.0,
                      settings.update_burst)]
    return [Scope(f"slack:{team}:{target.channel}:chat.postMessage", safety, 1.0, 2)]


class SlackWriter:
    """The platform calls of one reply's text; `SlackReplySink` (responder.py) adds what goes under it."""

    def __init__(self, client: AsyncWebClient, target: Target, settings: SlackSettings,
                 budget: RateBudget | None = None, taken_over: str | None = None,
                 parts: ReplyParts | None = None) -> None:
        self.client = client
        self.target = target
        self.settings = settings
        self.budget = budget
        self.part_limit = settings.max_message_chars
        self.interval_s = settings.stream_flush_s
        self.batch_chars: int | None = settings.stream_batch_chars
        self.native = settings.native_streaming
        self.text = ""  # everything written, all messages (Markdown)
        self.messages: list[str] = []  # ts of every message this answer used
        self.calls = 0
        self.waited_s = 0.0  # time the budget held calls back
        self.on_message: Any = None  # async callback(ts) once a message exists
        self.parts = parts  # the crash record: every message of this answer, part by part
        self._msg = ""  # Markdown of the current message (what the loop gave last)
        self._sent = ""  # native: the streamed Markdown Slack already has
        self._stream: AsyncChatStream | None = None
        self._ts: str | None = None  # the current message's ts
        self._done_text = ""
        self.failed = False  # the answer ended in an error: open task cards end as "error"
        self._dead_stream = taken_over or (str(parts.earlier[-1]) if parts and parts.earlier else None)
        if taken_over:  # a previous worker's half-written message: replace it, do not post a second one
            self.native = False
            self._ts = taken_over
        # Progress as task cards (progress.py) only in a stream of our own: an answer that goes into earlier
        # messages (taken over, or an edited question's) must not start a new stream for a card.
        self.tasks = TaskChunks(enabled=settings.task_chunks and self.native and self._dead_stream is None)

    # -- the loop's calls

    async def begin(self) -> None:
        if self._dead_stream is not None:  # taken over: a dead worker's stream may still be open; close it first
            try:
                await self._must("chat.stopStream")
                await self.client.chat_stopStream(channel=self.target.channel, ts=self._dead_stream)
            except SlackApiError as exc:
                log.info("slack_takeover_stop", error=_code(exc))

    async def status(self, status: Status) -> None:
        """A progress step: a task card in the stream (progress.py), else the assistant thread status."""
        if self.native and self.tasks.enabled and status.step:
            if self.tasks.add(status, lead=not self._sent):
                await self._send_tasks()
            return
        if status.state == "running":
            await self.assistant_status(status.text)

    async def assistant_status(self, text: str) -> None:
        """assistant.threads.setStatus; a failure (e.g. not an assistant thread) must not stop the answer."""
        if not self.target.assistant:
            return
        try:
            await self.client.assistant_threads_setStatus(channel_id=self.target.channel,
                                                          thread_ts=self.target.thread_ts, status=text[:100])
        except SlackApiError as exc:
            log.info("slack_status_failed", error=exc.response.get("error"))

    async def tool(self, event: Any) -> None:
        return None

    async def preview(self, part: str) -> float:
        self._msg = part
        await self._claim()
        if self.native:
            delta = stream_markdown(part, final=False)[len(self._sent):]
            if not delta:
                return 0.0
            method = "chat.appendStream" if self._stream is not None and self._stream.ts else "chat.startStream"
            wait = await self._try(method)
            if wait:
                return wait
            await self._append(part, final=False)
            return 0.0
        wait = await self._try("chat.update" if self._ts else "chat.postMessage")
        if wait:
            return wait
        await self._post_or_update(blocks=None, preview=True)
        return 0.0

    async def seal(self, part: str) -> None:
        self._msg = part
        await self._end_message(blocks=None)
        self.text += part

    async def end(self, part: str, blocks: list[dict[str, Any]]) -> str | None:
        """Deliver the last part and put `blocks` (sources, feedback) under it; the last message's ts."""
        self._msg = part
        self.text += part
        if not part and not self.messages and not blocks and self._stream is None and self._ts is None:
            return None
        await self._end_message(blocks=blocks)
        return self.messages[-1] if self.messages else None

    async def close(self) -> None:
        """Stopped before the end (an edited or deleted question, a failure): a card still shown as running is
        closed as "error" rather than left spinning; best effort, within `task_timeout_s`."""
        stream = self._stream
        if not self.tasks.enabled or not self.tasks.open or stream is None or stream.ts is None or not self.native:
            return
        try:
            self.calls += 1
            async with asyncio.timeout(self.settings.task_timeout_s):
                lead, trail = self.tasks.closing(failed=True)
                await stream.append(chunks=[*lead, *trail])
        except (SlackApiError, TimeoutError) as exc:
            self._tasks_off(exc)

    # -- internals

    async def _try(self, method: str) -> float:
        if self.budget is None:
            return 0.0
        return await self.budget.try_take(scopes(self.settings, self.target, method), preview=True)

    async def _must(self, method: str) -> None:
        if self.budget is not None:
            self.waited_s += await self.budget.take(scopes(self.settings, self.target, method))

    async def _open_stream(self) -> AsyncChatStream:
        if self._stream is None:
            t = self.target
            self._stream = await self.client.chat_stream(
                buffer_size=1, channel=t.channel, thread_ts=t.thread_ts,
                recipient_team_id=t.team if t.in_channel else None,
                recipient_user_id=t.user if t.in_channel else None,
                task_display_mode=self.settings.task_display_mode if self.tasks.enabled else None,
            )
        return self._stream

    async def _send_tasks(self) -> None:
        """Task cards in a call of their own, only if the workspace's stream budget has room to spare (for a tool
        starting, `task_reserve` calls stay free; for any other card the budget must be untouched) and within
        `task_timeout_s`; otherwise they ride on the next text append or the stopStream. A refusal
        (invalid_chunks, 429, a dead stream, no answer in time) turns cards off for this answer."""
        if not self.tasks.pending:
            return
        started = self._stream is not None and self._stream.ts is not None
        reserve = self.settings.task_reserve if self.tasks.urgent else self.settings.idle_reserve
        method = "chat.appendStream" if started else "chat.startStream"
        if self.budget is not None and await self.budget.try_take(
                scopes(self.settings, self.target, method), preview=True, reserve=reserve):
            return
        lead, trail = self.tasks.take()
        try:
            self.calls += 1
            async with asyncio.timeout(self.settings.task_timeout_s):
                stream = await self._open_stream()
                await stream.append(chunks=[*lead, *trail])
        except (SlackApiError, TimeoutError) as exc:
            self._tasks_off(exc)
            return
        if not started and self._stream is not None and self._stream.ts:
            self._ts = self._stream.ts
            await self._announce(self._ts)

    def _tasks_off(self, exc: BaseException) -> None:
        log.info("slack_task_chunks_off", error=_code(exc) if isinstance(exc, SlackApiError) else type(exc).__name__,
                 channel=self.target.channel)
        self.tasks.off()

    async def _carrying_tasks(self, send: Any, text: str, closing: bool = False, failed: bool = False) -> None:
        """`send(chunks)` with the waiting task cards around `text` (progress.py: before it the ones reported
        before the message had text); if Slack refuses the chunks (invalid_chunks), once more with the text
        alone, and no more cards for this answer."""
        lead: list[Chunk] = []
        trail: list[Chunk] = []
        if self.tasks.enabled:
            lead, trail = self.tasks.closing(failed) if closing else self.tasks.take()
        body: list[Chunk] = [MarkdownTextChunk(text=text)] if text else []
        if not lead and not trail:
            await send(body)
            return
        try:
            await send([*lead, *body, *trail])
        except SlackApiError as exc:
            if _code(exc) != "invalid_chunks":
                raise
            self._tasks_off(exc)
            self.calls += 1
            await send(body)

    async def _append(self, part: str, final: bool) -> None:
        new_stream = self._stream is None or self._stream.ts is None
        await self._open_stream()
        markdown = stream_markdown(part, final=final)
        if not markdown.startswith(self._sent):  # never retract streamed text: only extend it
            kept = self._sent.rstrip()  # only trailing white space differs: what follows still goes out
            markdown = self._sent + markdown[len(kept):].lstrip(" \t") if markdown.startswith(kept) else self._sent
        delta = markdown[len(self._sent):]
        if not delta:
            return
        stream = self._stream
        assert stream is not None

        async def send(chunks: list[Chunk]) -> None:
            await stream.append(chunks=chunks)

        try:
            self.calls += 1
            await self._carrying_tasks(send, delta)
        except SlackApiError as exc:
            await self._fall_back(exc)
            return
        self._sent = markdown
        self._ts = self._stream.ts
        if new_stream and self._ts:
            await self._announce(self._ts)

    async def _claim(self) -> None:
        """Taken over: the part about to start goes into the dead worker's message for it, if there is one."""
        earlier = self.parts.reuse() if self.parts is not None and self._ts is None and self._stream is None else None
        if earlier is not None:
            self.native, self._ts = False, str(earlier)
            await self._announce(self._ts)

    async def _announce(self, ts: str) -> None:
        if self.parts is not None:
            await self.parts.shown(ts)
        if self.on_message is not None:
            await self.on_message(ts)

    async def _fall_back(self, exc: SlackApiError) -> None:
        """Streaming refused or dead: carry on with postMessage + update, keeping every character."""
        log.warning("slack_stream_fallback", error=_code(exc), channel=self.target.channel,
                    streamed_chars=len(self._sent))
        self.native = False
        self._ts = self._stream.ts if self._stream is not None else None
        self._stream = None
        await self._must("chat.update" if self._ts else "chat.postMessage")
        await self._post_or_update(blocks=None)

    async def _post_or_update(self, blocks: list[dict[str, Any]] | None, preview: bool = False) -> None:
        shown = balance(self._msg) if preview else self._msg
        mrkdwn = to_mrkdwn(shown) if shown.strip() else " "
        full_blocks = (text_sections(mrkdwn) + blocks) if blocks else None
        notify = mrkdwn[:3_000]
        if self._ts is not None:
            try:
                self.calls += 1
                await self.client.chat_update(channel=self.target.channel, ts=self._ts,
                                              text=notify if blocks else mrkdwn, blocks=full_blocks)
                return
            except SlackApiError as exc:  # e.g. the message is still locked by a dead stream: post anew
                log.warning("slack_update_failed", error=_code(exc), channel=self.target.channel)
                await self._must("chat.postMessage")
        self.calls += 1
        resp = await self.client.chat_postMessage(channel=self.target.channel, thread_ts=self.target.thread_ts,
                                                  text=notify if blocks else mrkdwn, blocks=full_blocks)
        self._ts = str(resp["ts"])
        await self._announce(self._ts)

    async def _end_message(self, blocks: list[dict[str, Any]] | None) -> None:
        await self._claim()
        if self.native:
            if self._stream is None and not self._msg:
                if blocks:  # nothing was streamed, only blocks to show
                    await self._must("chat.postMessage")
                    resp = await self.client.chat_postMessage(channel=self.target.channel,
                                                              thread_ts=self.target.thread_ts, text=" ", blocks=blocks)
                    await self._announce(str(resp["ts"]))
                    self._finish_message(str(resp["ts"]))
                return
            if self._stream is None or self._stream.ts is None:
                await self._must("chat.startStream")
                await self._append(self._msg, final=True)  # the first text goes through startStream (or falls back)
            if self.native and self._stream is not None:
                try:
                    await self._must("chat.stopStream")
                    self.calls += 1
                    markdown = stream_markdown(self._msg, final=True)
                    rest = markdown[len(self._sent):] if markdown.startswith(self._sent) else ""
                    stream = self._stream

                    async def stop(chunks: list[Chunk]) -> None:
                        await stream.stop(chunks=chunks or None, blocks=blocks or None)

                    await self._carrying_tasks(stop, rest, closing=True, failed=self.failed)
                    self._sent = markdown
                    self._finish_message(self._stream.ts)
                    return
                except SlackApiError as exc:
                    await self._fall_back(exc)
        await self._must("chat.update" if self._ts else "chat.postMessage")
        await self._post_or_update(blocks=blocks)
        self._finish_message(self._ts)

    def _finish_message(self, ts: str | None) -> None:
        if ts:
            self.messages.append(ts)
        if self.parts is not None:
            self.parts.next()
        self._msg, self._sent, self._stream, self._ts = "", "", None, None
        self.native = self.settings.native_streaming


def _code(exc: SlackApiError) -> str:
    try:
        return str(exc.response.get("error") or exc.response.status_code)
    except Exception:
        return "unknown"
