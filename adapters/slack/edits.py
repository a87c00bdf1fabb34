"""Slack's side of edited and deleted questions (core/edits): `message` events of subtype `message_changed`
and `message_deleted`, and the platform calls an answer's replacement or a deletion note needs.

What Slack sends (Events API, `message.*` subscriptions; bolt routes every subtype to `app.event("message")`):
- an edit: `message_changed` with `message` (the new version: same `ts`, `user`, `thread_ts`, `edited.user` /
  `edited.ts`) and `previous_message`. Slack also sends it when nothing the user wrote changed: a link
  unfurled, a reply added under the message (`reply_count`), our own chat.update of the bot's messages.
  Only a change of the text by its author counts.
- a deletion: `message_deleted` with `deleted_ts`; but a message that has a thread under it (every question
  the bot answered at the top level) is not removed: Slack replaces it with a `tombstone` ("This message was
  deleted.") and sends `message_changed` whose `message.subtype` is "tombstone".
Only a message's author edits it in Slack; admins may delete anyone's messages, which is still a deletion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import text_sections
from adapters.slack.edge import tenant_of
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.normalize import is_user_message, strip_mention
from core.edits.ledger import QuestionLedger, as_edit
from core.texts import text

if TYPE_CHECKING:
    from adapters.slack.app import SlackReceiver

log = structlog.get_logger("deskmate.slack.edits")

CHANGES = ("message_changed", "message_deleted")
REDIS_DOWN = (RedisError, OSError)
CONTENT_BLOCKS = ("section", "markdown", "rich_text")  # blocks that carry a message's text


class SlackEdits:
    def __init__(self, receiver: SlackReceiver, ledger: QuestionLedger | None, client: AsyncWebClient) -> None:
        self.receiver = receiver
        self.ledger = ledger
        self.client = client

    async def on_change(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """A `message_changed` / `message_deleted` event."""
        if self.ledger is None:
            return
        event = body["event"]
        channel = str(event.get("channel") or "")
        message = event.get("message") or {}
        try:
            if event.get("subtype") == "message_deleted":
                await self._deleted(body, channel, str(event.get("deleted_ts") or ""))
            elif message.get("subtype") == "tombstone":  # a question with a thread under it was deleted
                await self._deleted(body, channel, str(message.get("ts") or ""))
            else:
                await self._edited(body, event, message, context)
        except REDIS_DOWN as exc:  # the edit (or deletion) is not followed; the answer stays as it was
            log.warning("slack_edit_unavailable", error=type(exc).__name__, kind=event.get("subtype"))

    async def _edited(self, body: dict[str, Any], event: dict[str, Any], message: dict[str, Any],
                      context: AsyncBoltContext) -> None:
        assert self.ledger is not None
        bot = context.bot_user_id
        if not is_user_message(message) or message.get("user") == bot:
            return  # our own (streamed, updated) messages, other bots
        edited = message.get("edited") or {}
        previous = event.get("previous_message") or {}
        new_text = strip_mention(str(message.get("text") or ""), bot)
        if not edited or (previous and strip_mention(str(previous.get("text") or ""), bot) == new_text):
            return  # an unfurl, a reply count, a reaction: not the words
        if edited.get("user") and edited["user"] != message.get("user"):
            log.info("slack_edit_ignored", outcome="other_user")
            return
        channel = str(event.get("channel") or "")
        edit_body = {**body, "event": {**message, "channel": channel, "channel_type": event.get("channel_type")}}
        inbound = await self.receiver.inbound_of(edit_body, context)
        decision = await self.ledger.edited(inbound, float(edited.get("ts") or event.get("event_ts") or 0))
        log.info("slack_edit", outcome=decision.status, version=decision.version, event_id=body.get("event_id"),
                 channel=channel, chars=len(inbound.text))
        if decision.status == "ok":
            await self.receiver.services.dispatcher.submit(as_edit(inbound, decision.version))

    async def _deleted(self, body: dict[str, Any], channel: str, ts: str) -> None:
        assert self.ledger is not None
        if not channel or not ts:
            return
        deletion = await self.ledger.deleted("slack", tenant_of(body), f"{channel}:{ts}")
        log.info("slack_question_deleted", outcome=deletion.status, answering=deletion.busy, channel=channel)
        if deletion.status == "ok" and not deletion.busy and deletion.answer:
            await note_deleted(self.client, deletion.answer, deletion.lang)


async def note_deleted(client: AsyncWebClient, answer: dict[str, Any], lang: str) -> None:
    """Add "the question was deleted" under a finished answer (its last message), keeping what it shows."""
    channel, parts = str(answer.get("channel") or ""), list(answer.get("ts") or [])
    if not channel or not parts:
        return
    ts = str(parts[-1])
    note = to_mrkdwn(text("question_deleted", lang))
    try:
        found = await client.conversations_replies(channel=channel, ts=str(answer.get("thread") or ts), latest=ts,
                                                   oldest=ts, inclusive=True, limit=2)
        shown = next((m for m in found.get("messages") or [] if m.get("ts") == ts), None)
        if shown is None:
            log.info("slack_delete_note_skipped", reason="answer_gone", channel=channel)
            return
        body = str(shown.get("text") or "")
        blocks = list(shown.get("blocks") or [])
        if blocks and not any(b.get("type") in CONTENT_BLOCKS for b in blocks):
            blocks = text_sections(body) + blocks  # the text lived outside the blocks: keep it visible
        note_block = {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}
        await client.chat_update(channel=channel, ts=ts, text=f"{body}\n\n{note}"[:3_000] if blocks else
                                 f"{body}\n\n{note}", blocks=[*blocks, note_block] if blocks else None)
    except SlackApiError as exc:
        log.warning("slack_delete_note_failed", error=exc.response.get("error"), channel=channel)


async def delete_parts(client: AsyncWebClient, channel: str, parts: list[Any]) -> None:
    """Remove the later messages of a replaced answer (its first message now shows the new answer)."""
    for ts in parts:
        try:
            await client.chat_delete(channel=channel, ts=str(ts))
        except SlackApiError as exc:
            log.info("slack_old_part_not_deleted", error=exc.response.get("error"), channel=channel)
