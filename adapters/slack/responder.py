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
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.edits import delete_parts, note_deleted
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.settings import SlackSettings
from adapters.slack.streamer import SlackWriter, Target
from core.edits.answering import Answering
from core.edits.ledger import QuestionLedger
from core.language import reply_language
from core.models import Inbound, ReplyEvent
from core.reply.budget import RateBudget
from core.reply.loop import ReplyLoop, ReplyOutcome
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

    async def begin(self) -> None:
        await self.writer.begin()
        if self.writer.target.assistant:
            await self.writer.status(self.responder.settings.thinking_text or text("slack_thinking", self.lang))

    async def status(self, status: str) -> None:
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
        self.ts = await self.writer.end(part, extra)
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

    async def close(self) -> None:
        return None


class SlackResponder:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, settings: SlackSettings, redis: aioredis.Redis | None = None,
                 edits: QuestionLedger | None = None) -> None:
        self.client = client
        self.settings = settings
        self.budget = RateBudget(redis) if redis is not None else None
        self.ids = PlatformIds(redis)
        self.edits = edits

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        target = target_of(inbound)
        lang = reply_language(inbound.text, inbound.locale)  # the engine answers in the message's language too
        async with Answering(self.edits, inbound, events, lang) as answer:  # edits and deletions (core/edits)
            if answer.skip:
                return
            # A dead worker's half-written message, or the answer an edited question's answer replaces.
            earlier = (await self.ids.load(inbound)).get("ts") or answer.replaces("ts")
            if earlier:
                log.info("slack_reply_taken_over", channel=target.channel, ts=earlier)
            writer = SlackWriter(self.client, target, self.settings, self.budget, taken_over=earlier)

            async def record(ts: str) -> None:
                await self.ids.save(inbound, {"ts": ts})

            writer.on_message = record
            await ReplyLoop(SlackReplySink(self, inbound, writer, lang)).run(answer.events)
            await delete_parts(self.client, target.channel, answer.stale("ts"))
            shown = {"ts": writer.messages, "channel": target.channel, "thread": target.thread_ts}
            answer.show(shown)
        if answer.note_deleted:
            await note_deleted(self.client, shown, lang)
