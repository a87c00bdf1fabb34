"""The receiving side: a slack-bolt AsyncApp whose listeners ack at once, dedupe, normalize and submit.

Every answer is produced after the ack by `services.dispatcher` and rendered by `SlackResponder`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.edge import SlackEdge, tenant_of
from adapters.slack.edits import CHANGES, SlackEdits
from adapters.slack.normalize import action_inbound, is_user_message, mentions, message_inbound
from adapters.slack.settings import SlackSettings
from adapters.slack.stop import STOP, on_agent_session_stopped, on_stop_pressed
from core.admin import AdminContext
from core.dedupe import first_delivery
from core.handoff.files import note
from core.handoff.triggers import may_call_person
from core.models import Inbound
from core.services import Services
from core.state.keys import key
from core.texts import text

log = structlog.get_logger("deskmate.slack")

REDIS_DOWN = (RedisError, OSError)
# Slack retries an event that got no 2xx (or no answer within 3 s) three times: X-Slack-Retry-Num 1, 2, 3.
LAST_RETRY = 3
ACTIONS = re.compile(
    rf"^({blocks.FEEDBACK_UP}|{blocks.FEEDBACK_DOWN}|{blocks.CONFIRM}|{blocks.CANCEL}|{blocks.PERSON}|{STOP})$")


class SlackReceiver:
    """Bolt listeners. State (followed threads, users, dedupe) lives in Redis: workers are stateless."""

    def __init__(self, settings: SlackSettings, services: Services, client: AsyncWebClient) -> None:
        self.settings = settings
        self.services = services
        self.client = client
        self.redis = services.redis
        self.edge = SlackEdge(settings, services.access, services.profiles[settings.bot], client, services.redis)
        self.edits = SlackEdits(self, services.edits, client)  # edited and deleted questions

    # -- wiring

    def attach(self, app: AsyncApp) -> None:
        app.error(self.on_error)
        app.middleware(self.dedupe)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.event("assistant_thread_started")(self.on_assistant_thread_started)
        app.event("assistant_thread_context_changed")(self.ignore)
        app.event("agent_session_stopped")(self.on_agent_session_stopped)  # Slack's own stop (adapters/slack/stop.py)
        app.action(ACTIONS)(self.on_action)
        app.command(self.settings.command)(self.on_command)

    async def dedupe(self, req: AsyncBoltRequest, body: dict[str, Any],
                     next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        """Retried deliveries (same event_id) are acknowledged and dropped: one message, one answer.

        Redis unreachable: while Slack will retry, answer 503 so it does (the event is not lost and, not yet
        marked seen, is handled on the retry); on the last retry take it anyway: the queue holds it locally
        and recognises it by its event_id if an earlier delivery was queued after all (core/ops/spool.py)."""
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or not event_id:
            return await next()
        try:
            first = await first_delivery(self.redis, "slack", str(event_id))
        except REDIS_DOWN as exc:
            retry = _retry_num(req)
            log.warning("slack_redis_unreachable", event_id=event_id, retry=retry, error=type(exc).__name__,
                        outcome="taken" if retry >= LAST_RETRY else "retry_later")
            if retry < LAST_RETRY:
                return BoltResponse(status=503, body="")
            return await next()
        if not first:
            log.info("slack_duplicate_dropped", event_id=event_id)
            return BoltResponse(status=200, body="")
        return await next()

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """Bolt's error handler: one log line (no traceback, no user text) for a listener or middleware failure."""
        log.warning("slack_listener_failed", error=type(error).__name__, event_id=body.get("event_id"),
                    kind=body.get("type"))

    async def ignore(self) -> None:
        return None

    # -- messages

    async def on_mention(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        if not is_user_message(event):
            return
        team = tenant_of(body)
        await self._follow(team, event["channel"], event.get("thread_ts") or event["ts"])
        await self._submit(body, context)

    async def on_message(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("subtype") in CHANGES:
            await self.edits.on_change(body, context)
            return
        if not is_user_message(event):
            return
        team = tenant_of(body)
        if event.get("channel_type") == "im":
            await self._submit(body, context)
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or mentions(event.get("text", ""), context.bot_user_id):
            return  # not a follow-up; an @mention is answered from its app_mention event
        if await self._exists(key("slack", "thread", team, event["channel"], thread_ts)):
            await self._submit(body, context)

    async def on_assistant_thread_started(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not channel or not thread_ts:
            return
        await self.redis.set(key("slack", "assistant", tenant_of(body), channel, thread_ts), b"1",
                             ex=self.settings.thread_memory_s)
        _, locale = await self.edge.audience(body, str(thread.get("user_id") or ""), str(channel))
        chosen = self.settings.suggested_prompts or text("slack_prompts", locale).split("|")
        prompts = [{"title": p[:75], "message": p} for p in chosen[:4]]
        if prompts:
            try:
                await self.client.assistant_threads_setSuggestedPrompts(channel_id=channel, thread_ts=thread_ts,
                                                                        prompts=prompts)
            except SlackApiError as exc:
                log.warning("slack_suggested_prompts_failed", error=exc.response.get("error"))

    async def _submit(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        inbound = await self.inbound_of(body, context)
        log.info("slack_message", event_id=body.get("event_id"), team=inbound.tenant, channel=inbound.channel,
                 private=inbound.is_private, assistant=inbound.extras["assistant"], chars=len(inbound.text))
        if self.services.edits is not None:
            try:  # its edits and deletion are followed from here on
                await self.services.edits.asked(inbound, float(body["event"]["ts"]))
            except REDIS_DOWN as exc:
                log.warning("slack_question_not_recorded", error=type(exc).__name__)
        await self.services.dispatcher.submit(inbound)

    async def inbound_of(self, body: dict[str, Any], context: AsyncBoltContext) -> Inbound:
        """A message event (or an edited message, core/edits) as an Inbound: who asks, where, what."""
        event = body["event"]
        audience, locale = await self.edge.audience(body, str(event["user"]), str(event["channel"]),
                                                    event.get("channel_type"))
        assistant = await self._assistant_thread(audience.tenant, str(event["channel"]), event.get("thread_ts"))
        return message_inbound(body, self.settings.bot, context.bot_user_id, audience, locale=locale,
                               assistant_thread=assistant)

    async def _assistant_thread(self, team: str, channel: str, thread_ts: str | None) -> bool:
        """A thread of Slack's AI-assistant surface (a DM thread opened by assistant_thread_started)?"""
        return bool(channel.startswith("D") and thread_ts
                    and await self._exists(key("slack", "assistant", team, channel, thread_ts)))

    async def _follow(self, team: str, channel: str, thread_ts: str) -> None:
        try:
            await self.redis.set(key("slack", "thread", team, channel, thread_ts), b"1",
                                 ex=self.settings.thread_memory_s)
        except REDIS_DOWN as exc:  # the mention is still answered; only un-mentioned follow-ups are missed
            log.warning("slack_follow_failed", error=type(exc).__name__)

    async def _exists(self, redis_key: str) -> bool:
        try:
            return bool(await self.redis.exists(redis_key))
        except REDIS_DOWN as exc:
            log.warning("slack_state_unreachable", error=type(exc).__name__)
            return False

    async def on_agent_session_stopped(self, body: dict[str, Any]) -> None:
        await on_agent_session_stopped(self, body)

    # -- buttons

    async def on_action(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        team, user = tenant_of(body), str((body.get("user") or {}).get("id"))
        action_id, ref = action.get("action_id"), str(action.get("value") or "")
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if action_id == STOP:
            await on_stop_pressed(self, body, action)
            return
        if action_id in (blocks.FEEDBACK_UP, blocks.FEEDBACK_DOWN):
            audience, locale = await self.edge.audience(body, user, str(channel))
            kind = "feedback_up" if action_id == blocks.FEEDBACK_UP else "feedback_down"
            press = action_inbound(body, kind, ref, self.settings.bot, audience, locale=locale)
            kept = await self.services.engine.feedback(press)  # recorded once, in core (core/ops/feedback.py)
            log.info("slack_feedback", team=team, reply_id=ref, value=kind, kept=kept)
            await self.ephemeral(channel, user, text("feedback_thanks", locale), body)
            return
        audience, locale = await self.edge.audience(body, user, str(channel))
        message = body.get("message") or {}
        assistant = await self._assistant_thread(team, str(channel), message.get("thread_ts"))
        if action_id == blocks.PERSON:  # "talk to a person": like `/human`, in the answer's language
            lang, owner, reply_id = blocks.person_press(ref)
            press = action_inbound(body, "handoff", reply_id, self.settings.bot, audience, locale=lang,
                                   assistant_thread=assistant)
            refusal = None if may_call_person(press.audience, owner) else note("handoff_person", "not_yours", lang)
            if refusal is None and self.services.handoff is not None \
                    and await self.services.handoff.active(press.conversation_key) is not None:
                refusal = note("handoff_person", "already", lang)
            if refusal is not None:
                await self.ephemeral(channel, user, refusal, body)
                return
            await self.services.dispatcher.submit(press)
            return
        kind = "confirm" if action_id == blocks.CONFIRM else "cancel"
        inbound = action_inbound(body, kind, ref, self.settings.bot, audience, locale=locale,
                                 assistant_thread=assistant)
        owner = blocks.proposal_owner(str(action.get("block_id") or ""))
        if owner and owner != user:  # not theirs: core refuses politely; the buttons stay for the owner
            log.info("slack_proposal_press_by_other_user", team=team, proposal=ref)
        elif message.get("ts") and channel:  # the buttons are spent: show what was chosen instead
            try:
                done = text("confirmed_by" if kind == "confirm" else "cancelled_by", locale, user=f"<@{user}>")
                await self.client.chat_update(channel=channel, ts=message["ts"], text=done,
                                              blocks=[*(message.get("blocks") or [])[:1], {
                                                  "type": "context", "elements": [{"type": "mrkdwn", "text": done}]}])
            except SlackApiError as exc:
                log.warning("slack_proposal_update_failed", error=exc.response.get("error"))
        await self.services.dispatcher.submit(inbound)

    async def ephemeral(self, channel: str | None, user: str, message: str, body: dict[str, Any]) -> None:
        thread_ts = (body.get("message") or {}).get("thread_ts")
        if not channel:
            return
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=message, thread_ts=thread_ts)
        except SlackApiError as exc:
            log.info("slack_ephemeral_failed", error=exc.response.get("error"))

    # -- admin command

    async def on_command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         body: dict[str, Any]) -> None:
        await ack()
        user, channel = str(command.get("user_id")), str(command.get("channel_id"))
        audience, locale = await self.edge.audience(body, user, channel)
        team, admin = audience.tenant, audience.is_admin
        profile = self.services.profiles[self.settings.bot]
        ctx = AdminContext(platform="slack", audience=audience, profile=profile, locale=locale,
                           command_prefix=f"{self.settings.command} ")
        reply = await self.services.admin.handle(ctx, command.get("text") or "help")
        log.info("slack_admin_command", team=team, command=(command.get("text") or "help").split(" ")[0][:20],
                 admin=admin, ok=reply.ok, changed=reply.changed)
        await respond(text=reply.text, response_type="ephemeral")


def _retry_num(req: AsyncBoltRequest) -> int:
    values = req.headers.get("x-slack-retry-num") or ["0"]
    try:
        return int(values[0])
    except ValueError:
        return 0
