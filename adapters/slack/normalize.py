"""Slack event payloads -> core.models.Inbound (pure functions: no I/O)."""

from __future__ import annotations

import re
from typing import Any

from core.audience import Audience
from core.models import Action, Attachment, Inbound

# Message subtypes that are a person writing; everything else (edits, joins, bot posts...) is ignored.
USER_SUBTYPES = {None, "file_share", "thread_broadcast"}
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def is_user_message(event: dict[str, Any]) -> bool:
    """A message written by a person (not a bot, not an edit/deletion/join notice)."""
    return event.get("subtype") in USER_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))


def mentions(text: str, user_id: str | None) -> bool:
    return bool(user_id) and any(m.group(1) == user_id for m in MENTION.finditer(text or ""))


def strip_mention(text: str, user_id: str | None) -> str:
    """Remove the bot's own @mention(s) from the text; other mentions stay."""
    if not user_id:
        return (text or "").strip()
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>\s*", "", text or "").strip()


def attachments(event: dict[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for f in event.get("files") or []:
        mime = str(f.get("mimetype") or "")
        kind = ("voice" if f.get("subtype") == "slack_audio" else "audio" if mime.startswith("audio/")
                else "photo" if mime.startswith("image/") else "video" if mime.startswith("video/")
                else "document" if mime else "other")
        ref = str(f.get("url_private_download") or f.get("id", ""))  # what a handoff downloads (with the token)
        found.append(Attachment(kind=kind, ref=ref, mime_type=mime or None,
                                size=f.get("size"), name=f.get("name")))
    return tuple(found)


def message_inbound(body: dict[str, Any], bot: str, bot_user_id: str | None, audience: Audience, *,
                    locale: str | None = None, assistant_thread: bool = False) -> Inbound:
    """A DM, an @mention or a thread follow-up as an Inbound.

    Conversations (memory scope): in channels the thread; in a DM the whole DM, except Slack assistant
    threads, which are each their own conversation. Replies always go in a thread (`extras.reply_ts`).
    """
    event = body["event"]
    private = event.get("channel_type") == "im"
    thread_ts = event.get("thread_ts")
    reply_ts = thread_ts or event["ts"]
    return Inbound(
        platform="slack", bot=bot, tenant=audience.tenant, channel=str(event["channel"]),
        thread=(thread_ts if assistant_thread else None) if private else reply_ts,
        user=str(event["user"]), text=strip_mention(event.get("text", ""), bot_user_id),
        message_id=str(body.get("event_id") or f"{event['channel']}:{event['ts']}"),
        attachments=attachments(event), is_admin=audience.is_admin, is_private=private, locale=locale,
        audience=audience,
        extras={
            "reply_ts": reply_ts, "ts": event["ts"], "event_id": body.get("event_id"),
            "channel_type": event.get("channel_type") or "channel",
            "user_team": event.get("user_team") or event.get("team") or audience.tenant,
            "assistant": bool(private and assistant_thread),
            "question": f"{event['channel']}:{event['ts']}",  # the platform message (its edits: core/edits)
        },
    )


def action_inbound(body: dict[str, Any], kind: str, ref: str, bot: str, audience: Audience, *,
                   locale: str | None = None, assistant_thread: bool = False) -> Inbound:
    """A Confirm/Cancel press as an Inbound carrying an Action, answered in the same thread."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    message = body.get("message") or {}
    reply_ts = message.get("thread_ts") or (body.get("container") or {}).get("thread_ts") or message.get("ts")
    private = str(channel or "").startswith("D")
    user = body.get("user") or {}
    return Inbound(
        platform="slack", bot=bot, tenant=audience.tenant, channel=str(channel),
        thread=(message.get("thread_ts") if assistant_thread else None) if private else reply_ts,
        user=str(user.get("id")), action=Action(kind=kind, ref=ref),  # type: ignore[arg-type]
        is_admin=audience.is_admin, is_private=private, locale=locale, audience=audience,
        extras={"reply_ts": reply_ts, "user_team": user.get("team_id") or audience.tenant,
                "assistant": bool(private and assistant_thread)},
    )
