"""Render one reply stream in Slack: streamed text, status in assistant threads, sources, buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.settings import SlackSettings
from adapters.slack.streamer import ReplyWriter, Target
from core.language import reply_language
from core.models import (
    Citation,
    CitationEvent,
    Error,
    Final,
    Inbound,
    NeedsConfirmation,
    ReplyEvent,
    Status,
    TextDelta,
)
from core.texts import text

log = structlog.get_logger("deskmate.slack.responder")


def target_of(inbound: Inbound) -> Target:
    """Where to answer, from the Inbound alone (the answering worker may be another process)."""
    x = inbound.extras
    return Target(
        channel=inbound.channel, thread_ts=str(x.get("reply_ts") or inbound.thread or ""),
        team=str(x.get("user_team") or inbound.tenant), user=inbound.user,
        in_channel=not inbound.is_private, assistant=bool(x.get("assistant")),
    )


class SlackResponder:
    platform = "slack"

    def __init__(self, client: AsyncWebClient, settings: SlackSettings) -> None:
        self.client = client
        self.settings = settings

    async def respond(self, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> None:
        target = target_of(inbound)
        writer = ReplyWriter(self.client, target, self.settings)
        citations: list[Citation] = []
        final: Final | None = None
        proposal: NeedsConfirmation | None = None
        lang = reply_language(inbound.text, inbound.locale)  # the engine answers in the message's language too
        if target.assistant:
            await self._status(target, self.settings.thinking_text or text("slack_thinking", lang))
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    await writer.add(event.text)
                elif isinstance(event, Status) and target.assistant:
                    await self._status(target, event.text)
                elif isinstance(event, CitationEvent):
                    citations.append(event.citation)
                elif isinstance(event, NeedsConfirmation):
                    proposal = event
                elif isinstance(event, Final):
                    final = event
                    if not writer.text and event.text:
                        await writer.add(event.text)
                elif isinstance(event, Error):
                    await writer.add(("\n\n" if writer.text else "") + event.message)
        except BaseException:
            await _drain(events)  # the stream must be consumed to the end (memory, cache, telemetry)
            raise
        extra: list[dict[str, Any]] = blocks.sources(final.citations or tuple(citations) if final else citations,
                                                     lang)
        if final is not None:
            extra += blocks.feedback(final.reply_id, lang)
        await writer.finish(extra)
        if proposal is not None:
            await self.client.chat_postMessage(
                channel=target.channel, thread_ts=target.thread_ts, text=to_mrkdwn(proposal.summary),
                blocks=blocks.confirmation(proposal.proposal_id, to_mrkdwn(proposal.summary), owner=inbound.user,
                                           language=lang),
            )
        log.info("slack_replied", channel=target.channel, messages=len(writer.messages), calls=writer.calls,
                 chars=len(writer.text), native=writer.native, outcome="final" if final else "error")

    async def _status(self, target: Target, status: str) -> None:
        """assistant.threads.setStatus; a failure (e.g. not an assistant thread) must not stop the answer."""
        try:
            await self.client.assistant_threads_setStatus(channel_id=target.channel, thread_ts=target.thread_ts,
                                                          status=status[:100])
        except SlackApiError as exc:
            log.info("slack_status_failed", error=exc.response.get("error"))


async def _drain(events: AsyncIterator[ReplyEvent]) -> None:
    try:
        async for _ in events:
            pass
    except Exception:
        log.warning("slack_drain_failed")
