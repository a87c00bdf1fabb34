"""The operator inbox in Slack: one thread per handoff in a configured channel, Take / Resolve / Hand back buttons,
ticket status buttons, agents' thread replies relayed to the customer, and Slack DM customers reached back.

Registered before the general message listener (bolt runs the first listener whose matchers pass), so a reply in
an inbox thread is never taken for a question to the bot.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import files
from adapters.slack.mrkdwn import escape
from adapters.slack.normalize import is_user_message
from core.handoff.desk import HandoffDesk
from core.handoff.files import FileData, FileRef
from core.handoff.ports import Card
from core.handoff.state import Handoff
from core.models import Attachment
from core.texts import text

log = structlog.get_logger("deskmate.slack.inbox")
CUSTOMER_FILE_LIMIT = 50 * 1024 * 1024  # a Slack customer's file, held in memory on its way to the inbox

TAKE, RESOLVE, BACK, TICKET = "handoff_take", "handoff_resolve", "handoff_back", "handoff_ticket"
ACTIONS = re.compile(rf"^({TAKE}|{RESOLVE}|{BACK}|{TICKET}_(open|pending|resolved))$")
SECTION_CHARS = 2900


def pick(key: str, item: str, lang: str) -> str:
    """One label of a `name=label|name=label` text (short agent-facing labels share a key)."""
    labels = dict(part.split("=", 1) for part in text(key, lang).split("|") if "=" in part)
    return labels.get(item, item)


def _section(body: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": body[:SECTION_CHARS]}}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id,
                              "value": value}
    if style:
        button["style"] = style
    return button


class SlackInbox:
    """The `Inbox` port (core/handoff/ports.py) on a Slack channel."""

    def __init__(self, client: AsyncWebClient, channel: str, language: str = "en") -> None:
        self.client = client
        self.channel = channel
        self.language = language

    def header(self, h: Handoff) -> tuple[str, list[dict[str, Any]]]:
        lang = self.language
        title = text("inbox_title", lang, platform=h.platform, reason=pick("inbox_reasons", h.reason, lang),
                     language=h.language)
        if h.status == "waiting":
            status = text("inbox_status_waiting", lang)
        elif h.status == "with_person":
            status = text("inbox_status_with_person", lang, agent=f"<@{h.taken_by}>")
        else:
            status = text("inbox_status_bot", lang, how=h.closed_how or "-", agent=(
                f"<@{h.closed_by}>" if h.closed_by and h.closed_by[:1] in "UW" else h.closed_by or "-"))
        blocks = [_section(f"*{escape(title)}*\n{status}")]
        if h.active:
            buttons = [_button(pick("inbox_buttons", "take", lang), TAKE, h.id, "primary")] \
                if h.status == "waiting" else []
            buttons += [_button(pick("inbox_buttons", "resolve", lang), RESOLVE, h.id),
                        _button(pick("inbox_buttons", "back", lang), BACK, h.id)]
            blocks.append({"type": "actions", "block_id": f"handoff:{h.id}", "elements": buttons})
        return f"{title}\n{status}", blocks

    async def open_thread(self, h: Handoff, card: Card) -> str:
        fallback, blocks = self.header(h)
        resp = await self.client.chat_postMessage(channel=self.channel, text=fallback, blocks=blocks,
                                                  unfurl_links=False, unfurl_media=False)
        ts = str(resp["ts"])
        lines = [text("inbox_summary", self.language, summary=escape(card.summary))] if card.summary else []
        if card.turns:
            lines.append(f"*{text('inbox_recent', self.language)}*")
            lines += [f"• *{pick('inbox_roles', role, self.language)}:* {escape(content)}"
                      for role, content in card.turns]
        if lines:
            body = "\n".join(lines)
            await self.client.chat_postMessage(channel=self.channel, thread_ts=ts, text=body[:3000],
                                               blocks=[_section(body)], unfurl_links=False, unfurl_media=False)
        return ts

    async def refresh(self, h: Handoff) -> None:
        fallback, blocks = self.header(h)
        try:
            await self.client.chat_update(channel=self.channel, ts=h.inbox_ts, text=fallback, blocks=blocks)
        except SlackApiError as exc:
            log.warning("inbox_refresh_failed", handoff=h.id, error=exc.response.get("error"))

    async def post(self, h: Handoff, body: str, kind: str) -> None:
        shown = escape(body)
        if kind == "customer":
            shown = f"*{pick('inbox_roles', 'user', self.language)}:* {shown}"
        await self.client.chat_postMessage(channel=self.channel, thread_ts=h.inbox_ts, text=shown[:3000],
                                           unfurl_links=False, unfurl_media=False)

    def ticket_blocks(self, number: str, status: str, detail: str = "") -> tuple[str, list[dict[str, Any]]]:
        lang = self.language
        label = text("inbox_ticket", lang, number=number, status=pick("inbox_ticket_states", status, lang))
        label = f"{label} · {detail}" if detail else label
        buttons = [_button(pick("inbox_ticket_states", "reopen" if s == "open" else s, lang), f"{TICKET}_{s}", number)
                   for s in ("pending", "resolved", "open") if s != status]
        return label, [_section(f"*{escape(label)}*"),
                       {"type": "actions", "block_id": f"ticket:{number}", "elements": buttons}]

    async def ticket_card(self, h: Handoff, number: str, status: str) -> None:
        label, blocks = self.ticket_blocks(number, status)
        await self.client.chat_postMessage(channel=self.channel, thread_ts=h.inbox_ts, text=label, blocks=blocks)

    async def note_in(self, thread_ts: str, body: str) -> None:
        await self.client.chat_postMessage(channel=self.channel, thread_ts=thread_ts, text=escape(body)[:3000],
                                           unfurl_links=False, unfurl_media=False)

    async def upload(self, h: Handoff, file: FileData, comment: str) -> None:
        await files.upload(self.client, self.channel, h.inbox_ts, file, escape(comment))

    async def fetch(self, file: FileRef, limit: int) -> bytes:
        return await files.download(self.client, file.ref, limit)

    async def new_ticket(self, ticket: Any, show_summary: bool) -> None:
        """A ticket the bot created (create_ticket): posted in the inbox so agents can move its status."""
        detail = f"{ticket.platform} · {ticket.category} · {ticket.priority}"
        if show_summary:
            detail += f" · {ticket.summary}"
        label, blocks = self.ticket_blocks(ticket.number, ticket.status, detail)
        await self.client.chat_postMessage(channel=self.channel, text=label, blocks=blocks)


class SlackCustomerChannel:
    """Reaches a Slack customer (a DM, or the thread they wrote in) with an agent's words and files, and fetches
    the customer's own files for the inbox (their `url_private_download`, with the bot token, Slack hosts only)."""

    fetch_limit = CUSTOMER_FILE_LIMIT
    send_limit = 1024 * 1024 * 1024  # Slack's upload limit: 1 GB

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def fetch(self, h: Handoff, attachment: Attachment, limit: int) -> bytes:
        return await files.download(self.client, attachment.ref, limit)

    async def send_file(self, h: Handoff, file: FileData) -> None:
        await files.upload(self.client, h.channel, h.reply_to.get("reply_ts") or h.thread, file, "")

    async def deliver(self, h: Handoff, body: str) -> None:
        thread = h.reply_to.get("reply_ts") or h.thread
        await self.client.chat_postMessage(channel=h.channel, thread_ts=thread or None, text=body[:39_000],
                                           unfurl_links=False, unfurl_media=False)


def attach_inbox(app: AsyncApp, client: AsyncWebClient, desk: HandoffDesk | None, tickets: Any = None) -> None:
    """Serve the inbox channel (if configured) and reach Slack customers. Call before the general listeners."""
    if desk is None:
        return
    desk.add_customer_channel("slack", SlackCustomerChannel(client))
    channel = desk.settings.inbox_channel
    if not channel:
        return
    inbox = SlackInbox(client, channel, desk.settings.inbox_language)
    desk.set_inbox(inbox)
    if tickets is not None:  # tickets the bot creates appear in the inbox (summary only if agents may see PII)
        async def post_ticket(ticket: Any) -> None:
            await inbox.new_ticket(ticket, desk.settings.show_pii)

        tickets.on_created.append(post_ticket)

    async def in_inbox_thread(body: dict[str, Any]) -> bool:
        event = body.get("event") or {}
        return event.get("channel") == channel and bool(event.get("thread_ts")) and \
            event.get("thread_ts") != event.get("ts")

    async def on_agent_message(event: dict[str, Any]) -> None:
        if not is_user_message(event):
            return  # our own posts into the thread, edits, joins
        body = str(event.get("text") or "")
        attached = [FileRef(name=str(f.get("name") or f.get("title") or "file"),
                            ref=str(f.get("url_private_download") or f.get("url_private") or ""),
                            size=f.get("size"), mime_type=f.get("mimetype"))
                    for f in event.get("files") or [] if f.get("url_private_download") or f.get("url_private")]
        relayed = await desk.from_agent(channel, str(event["thread_ts"]), str(event["ts"]), str(event["user"]), body,
                                        attached)
        log.info("inbox_agent_message", relayed=relayed, chars=len(body), files=len(attached))

    async def on_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        where = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        if where != channel:
            return  # only the inbox's own buttons
        agent = str((body.get("user") or {}).get("id") or "")
        action_id = str(action.get("action_id") or "")
        message = body.get("message") or {}
        if action_id.startswith(TICKET):
            status = action_id.removeprefix(f"{TICKET}_")
            ticket = await tickets.set_status(str(action.get("value") or ""), status, agent) if tickets else None
            if ticket is not None and message.get("ts"):
                shown = desk.settings.show_pii
                at_root = message.get("thread_ts") in (None, message.get("ts"))  # a bot ticket, not a handoff's
                detail = f"{ticket.platform} · {ticket.category} · {ticket.priority}" if at_root else ""
                detail += f" · {ticket.summary}" if shown and detail else ""
                label, blocks = inbox.ticket_blocks(ticket.number, ticket.status, detail)
                await client.chat_update(channel=channel, ts=message["ts"], text=label, blocks=blocks)
            return
        root = str(message.get("thread_ts") or message.get("ts") or "")
        if action_id == TAKE:
            await desk.take(channel, root, agent)
        else:
            await desk.close(channel, root, agent, "resolved" if action_id == RESOLVE else "handed_back")

    async def ignore() -> None:
        return None

    app.event("message", matchers=[in_inbox_thread])(on_agent_message)
    app.event("app_mention", matchers=[in_inbox_thread])(ignore)  # an agent naming the bot is not a question
    app.action(ACTIONS)(on_button)
