"""Slack's side of Stop (core/edits): Slack's own stop for agent sessions, or a Stop button under the answer.

- An app declared as an agent (`agent_sessions`): the answer's thread is set to "processing"
  (`agents.sessions.setStatus`), where Slack shows its native stop button; a press sends `agent_session_stopped`
  (channel, thread_ts, user, streaming_message_ts). The answer is named by its thread (`thread:<channel>:<ts>`).
- Otherwise: once the answer's first message exists, a small message with a Stop button goes under it in the
  thread (a streamed message takes no blocks until `chat.stopStream`); it is deleted when the answer ends. Its ts
  is kept in Redis while it is shown, so a worker that takes the answer over after a crash deletes the dead
  worker's button first.

Either way the ledger decides: only the asker, or a workspace or deployment admin, may stop an answer, and only
while it is written; anyone else gets an ephemeral note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.edge import tenant_of
from adapters.slack.settings import SlackSettings
from adapters.slack.streamer import Target, scopes
from core.edits.answering import Answering
from core.models import Inbound
from core.reply.budget import RateBudget
from core.state.keys import key
from core.texts import text

if TYPE_CHECKING:
    from adapters.slack.app import SlackReceiver

log = structlog.get_logger("deskmate.slack.stop")

STOP = "deskmate_stop"
REDIS_DOWN = (RedisError, OSError)


def stop_blocks(token: str, lang: str) -> list[dict[str, Any]]:
    """The Stop button; its value carries the answer's language and `<version>:<question ref>`."""
    return [{"type": "actions", "block_id": f"stop:{token}"[:255], "elements": [
        {"type": "button", "action_id": STOP, "value": f"{lang[:2]}|{token}", "style": "danger",
         "text": {"type": "plain_text", "text": "⏹ " + text("stop_button", lang), "emoji": True}}]}]


def stop_press(value: str) -> tuple[str, str, int] | None:
    """(language, question ref, version) from a Stop button's value, or None when it is not one."""
    lang, _, token = value.partition("|")
    version, _, ref = token.partition(":")
    return (lang or "en", ref, int(version)) if version.isdigit() and ref else None


class StopControl:
    """One answer's stop control. `begin` before the answer, `shown(ts)` once its first message exists, `end`
    after it (always): the button goes, the agent session leaves "processing"."""

    def __init__(self, client: AsyncWebClient, settings: SlackSettings, target: Target, answer: Answering,
                 lang: str, redis: aioredis.Redis | None = None, budget: RateBudget | None = None) -> None:
        self.client = client
        self.settings = settings
        self.redis = redis
        self.budget = budget
        self.target = target
        self.token = answer.stoppable
        self.answer = answer
        self.lang = lang
        self.native = settings.agent_sessions and self.token is not None
        self.button_ts: str | None = None
        self._session = False

    @property
    def _key(self) -> str:
        inbound: Inbound = self.answer.inbound
        return key("stopbutton", inbound.platform, inbound.tenant, inbound.message_id)

    async def begin(self) -> None:
        await self._drop_dead_button()
        if not self.native:
            return
        await self.answer.hold(f"thread:{self.target.channel}:{self.target.thread_ts}")
        self._session = await self._session_status("processing")

    async def shown(self, ts: str) -> None:
        if self.token is None or self.native or self.button_ts is not None:
            return
        self.button_ts = ""  # once per answer, even when the post fails
        if self.budget is not None and await self.budget.try_take(
                scopes(self.settings, self.target, "chat.postMessage"), preview=True):
            log.info("slack_stop_button_skipped", reason="rate_budget", channel=self.target.channel)
            return  # the channel's postMessage budget is spent: the answer matters more than its Stop button
        try:
            resp = await self.client.chat_postMessage(channel=self.target.channel, thread_ts=self.target.thread_ts,
                                                      text=text("stop_button", self.lang),
                                                      blocks=stop_blocks(self.token, self.lang))
            self.button_ts = str(resp["ts"])
            await self._remember(self.button_ts)
        except SlackApiError as exc:
            log.info("slack_stop_button_failed", error=exc.response.get("error"), channel=self.target.channel)

    async def end(self) -> None:
        if self.button_ts:
            await self._delete(self.button_ts)
            await self._remember(None)
        if self._session:
            await self._session_status("active")

    async def _delete(self, ts: str) -> None:
        try:
            await self.client.chat_delete(channel=self.target.channel, ts=ts)
        except Exception as exc:  # best effort: the answer itself goes on (or has ended)
            log.info("slack_stop_button_not_deleted", error=type(exc).__name__)

    async def _remember(self, ts: str | None) -> None:
        if self.redis is None:
            return
        try:
            if ts is None:
                await self.redis.delete(self._key)
            else:
                await self.redis.set(self._key, ts, ex=86_400)
        except REDIS_DOWN as exc:
            log.info("slack_stop_button_not_recorded", error=type(exc).__name__)

    async def _drop_dead_button(self) -> None:
        """Taken over after a crash: the dead worker's Stop button goes (this answer posts its own)."""
        if self.redis is None:
            return
        try:
            dead = await self.redis.get(self._key)
        except REDIS_DOWN:
            return
        if dead:
            await self._delete(dead.decode() if isinstance(dead, bytes) else str(dead))
            await self._remember(None)

    async def _session_status(self, status: str) -> bool:
        """agents.sessions.setStatus; a refusal (not an agent app, no such thread) must not stop the answer."""
        try:
            await self.client.agents_sessions_setStatus(channel_id=self.target.channel, status=status,
                                                        thread_ts=self.target.thread_ts)
            return True
        except SlackApiError as exc:
            log.info("slack_agent_session_failed", error=exc.response.get("error"), status=status)
            return False


async def stop_answer(receiver: SlackReceiver, body: dict[str, Any], user: str, channel: str, ref: str,
                      version: int) -> str:
    """Ask the ledger to stop question `ref`'s answer at `version` for `user` (a workspace admin may stop anyone's):
    "ok", "not_yours", "over", "unknown" or "unavailable"."""
    ledger = receiver.services.edits
    if ledger is None:
        return "unavailable"
    try:
        status = await ledger.stop("slack", tenant_of(body), ref, version, user, admin=False)
        if status == "not_yours":
            audience, _ = await receiver.edge.audience(body, user, channel)
            if audience.is_admin:
                status = await ledger.stop("slack", tenant_of(body), ref, version, user, admin=True)
    except REDIS_DOWN as exc:
        log.warning("slack_stop_unavailable", error=type(exc).__name__)
        return "unavailable"
    log.info("slack_stop", outcome=status, channel=channel, version=version)
    return status


async def on_stop_pressed(receiver: SlackReceiver, body: dict[str, Any], action: dict[str, Any]) -> None:
    """The Stop button: the asker's (or an admin's) press stops the answer; anyone else is told why not."""
    user = str((body.get("user") or {}).get("id"))
    channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
    press = stop_press(str(action.get("value") or ""))
    if press is None or not channel:
        return
    lang, ref, version = press
    status = await stop_answer(receiver, body, user, channel, ref, version)
    if status == "not_yours":
        await receiver.ephemeral(channel, user, text("stop_not_yours", lang), body)
    elif status != "ok":
        await receiver.ephemeral(channel, user, text("stop_over", lang), body)


async def on_agent_session_stopped(receiver: SlackReceiver, body: dict[str, Any]) -> None:
    """Slack's own stop on an agent session: the answer streaming in that thread stops."""
    event = body.get("event") or {}
    channel, thread, user = (str(event.get(k) or "") for k in ("channel", "thread_ts", "user"))
    if receiver.services.edits is None or not channel or not thread:
        return
    try:
        held = await receiver.services.edits.held("slack", tenant_of(body), f"thread:{channel}:{thread}")
    except REDIS_DOWN as exc:
        log.warning("slack_stop_unavailable", error=type(exc).__name__)
        return
    if held is None:
        log.info("slack_stop", outcome="unknown_session", channel=channel)
        return
    ref, version = held
    await stop_answer(receiver, body, user, channel, ref, version)
