"""Render one reply stream in Slack through the shared reply loop (core/reply/loop.py).

`SlackReplySink` is Slack's side of the loop: the text goes through `SlackWriter` (streamer.py); under the
last message come sources and feedback buttons; a proposed action gets its Confirm/Cancel message; assistant
threads get a status line. The reply's ts is recorded before any text is streamed, so a worker that takes
the message over after a crash replaces that message instead of posting a second one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.edits import note_deleted
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.settings import SlackSettings
from adapters.slack.stop import StopControl
from adapters.slack.streamer import SlackWriter, Target
from core.edits.answering import Answering
from core.edits.ledger import QuestionLedger
from core.language import reply_language
from core.models import Inbound, ReplyEvent, Status
from core.reply.budget import RateBudget
from core.reply.loop import ReplyLoop, ReplyOutcome
from core.reply.record import ReplyParts
from core.reply.record import ReplyRecords as PlatformIds
from core.texts import text

log = structlog.get_logger("deskmate.slack.responder")


def target_of(inbound: Inbound) -> Target:
    """Where to answer, from the Inbound alone (the answering worker may be another process)."""
    x = inbound.extras
    return Target(
        channel=inbound.channel, thread_ts=str(x.get("reply_ts") or inbound.thread or ""),
        team=str(x.get("user_team") or inbound.tenant), user=inbound.user,
        in_channel=not inbound.is_private, assistant=bool(x.get("assistant")), workspace=inbound.tenant,
    )


class SlackReplySink:
    """One reply in Slack: the loop's calls, mapped onto `SlackWriter` and Block Kit."""

    def __init__(self, responder: SlackResponder, inbound: Inbound, writer: SlackWriter, lang: str) -> None:
        self.responder = responder
        self.inbound = inbound
        self.writer = writer
        self.lang = lang
        self.part_limit = writer.part_limit
        self.interval_s = writer.interval_s
        self.batch_chars = writer.batch_chars
        self.ts: str | None = None
        self.text_before_status = writer.tasks.enabled  # a card goes after the words that came before it
        if writer.settings.task_display_mode == "plan":
            writer.tasks.plan_title = text("progress_plan", lang)

    async def begin(self) -> None:
        await self.writer.begin()
        if self.writer.target.assistant:
            await self.writer.assistant_status(self.responder.settings.thinking_text
                                               or text("slack_thinking", self.lang))

    async def status(self, status: Status) -> None:
        await self.writer.status(status)

    async def tool(self, event: Any) -> None:
        return None

    async def preview(self, part: str) -> float:
        return await self.writer.preview(part)

    async def seal(self, part: str) -> None:
        await self.writer.seal(part)

    async def finish(self, part: str, outcome: ReplyOutcome) -> None:
        final, inbound, t = outcome.final, self.inbound, self.writer.target
        extra: list[dict[str, Any]] = blocks.sources(outcome.sources, self.lang)
        if final is not None:
            extra += blocks.feedback(final.reply_id, self.lang, inbound.user if final.offer_person else None)
        self.writer.failed = outcome.error is not None  # task cards still open end as "error"
        self.ts = await self.writer.end(part, extra)
        await self._drop_leftovers()
        if outcome.proposals:
            proposal = outcome.proposals[-1]
            await self.responder.client.chat_postMessage(
                channel=t.channel, thread_ts=t.thread_ts, text=to_mrkdwn(proposal.summary),
                blocks=blocks.confirmation(proposal.proposal_id, to_mrkdwn(proposal.summary), owner=inbound.user,
                                           language=self.lang),
            )
        log.info("slack_replied", channel=t.channel, messages=len(self.writer.messages), calls=self.writer.calls,
                 chars=len(self.writer.text), native=self.writer.native, waited_s=round(self.writer.waited_s, 2),
                 outcome="final" if final else "error", **outcome.tail_ms())

    async def _drop_leftovers(self) -> None:
        """Taken over with a shorter answer: the dead worker's extra messages go, so no stale part stays."""
        parts = self.writer.parts
        if parts is None or not parts.leftovers():
            return
        for ts in parts.leftovers():
            try:
                await self.responder.client.chat_delete(channel=self.writer.target.channel, ts=str(ts))
            except SlackApiError as exc:
                log.warning("slack_leftover_delete_failed", error=str(exc.response.get("error")))
        await parts.forget_leftovers()

    async def close(self) -> None:
        await self.writer.close()


class SlackResponder:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, settings: SlackSettings, redis: aioredis.Redis | None = None,
                 edits: QuestionLedger | None = None) -> None:
        self.client = client
        self.settings = settings
        self.budget = RateBudget(redis) if redis is not None else None
        self.ids = PlatformIds(redis)
        self.edits = edits
        self.redis = redis

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        target = target_of(inbound)
        lang = reply_language(inbound.text, inbound.locale)  # the engine answers in the message's language too
        async with Answering(self.edits, inbound, events, lang) as answer:  # edits and deletions (core/edits)
            if answer.skip:
                return
            # A dead worker's half-written messages, or the answer an edited question's answer replaces: each part
            # goes into the earlier message for it; the sink deletes the ones no longer needed.
            parts = await ReplyParts.load(self.ids, inbound, "ts")
            if not parts.taken_over and answer.replaces("ts"):
                parts = ReplyParts(self.ids, inbound, "ts", [answer.replaces("ts"), *answer.stale("ts")])
            if parts.taken_over:
                log.info("slack_reply_taken_over", channel=target.channel, messages=len(parts.earlier))
            writer = SlackWriter(self.client, target, self.settings, self.budget, parts=parts)
            stop = StopControl(self.client, self.settings, target, answer, lang, self.redis, self.budget)  # stop.py
            writer.on_message = stop.shown
            await stop.begin()
            try:
                await ReplyLoop(SlackReplySink(self, inbound, writer, lang)).run(answer.events)
            finally:
                await stop.end()
            shown = {"ts": writer.messages, "channel": target.channel, "thread": target.thread_ts}
            answer.show(shown)
        if answer.note_deleted:
            await note_deleted(self.client, shown, lang)
