"""Slack's `message` events for a changed or deleted message, in the shape the Events API delivers them
(docs.slack.dev/reference/events/message/message_changed, .../message_deleted; a deleted message that has a
thread under it becomes a `tombstone` delivered as `message_changed`).

Each builder takes the original message event (as `SlackRig.mention`/`dm` sent it, `rig.asked[ts]`) and
returns the `event` object to post with `rig.event(...)`.
"""

from __future__ import annotations

import uuid
from typing import Any


def _message(original: dict[str, Any], text: str) -> dict[str, Any]:
    """A message object as Slack nests it in a change event (no channel/channel_type: those are outside)."""
    message = {"type": "message", "user": original["user"], "text": text, "ts": original["ts"],
               "team": original.get("team", "T1"), "client_msg_id": str(uuid.uuid5(uuid.NAMESPACE_URL, original["ts"])),
               "blocks": [{"type": "rich_text", "block_id": "b1", "elements": [
                   {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]}
    if original.get("thread_ts"):
        message["thread_ts"] = original["thread_ts"]
    return message


def _outer(original: dict[str, Any], subtype: str, event_ts: str) -> dict[str, Any]:
    channel = original["channel"]
    kind = original.get("channel_type") or {"D": "im", "G": "group"}.get(channel[:1], "channel")
    return {"type": "message", "subtype": subtype, "hidden": True, "channel": channel, "channel_type": kind,
            "ts": event_ts, "event_ts": event_ts}


def edited(original: dict[str, Any], text: str, after_s: float = 5.0, *, editor: str | None = None,
           previous_text: str | None = None) -> dict[str, Any]:
    """The author (or `editor`) changed the text `after_s` seconds after posting it."""
    edit_ts = f"{float(original['ts']) + after_s:.6f}"
    message = _message(original, text)
    message["edited"] = {"user": editor or original["user"], "ts": edit_ts}
    event = _outer(original, "message_changed", edit_ts)
    event["message"] = message
    event["previous_message"] = _message(original, original["text"] if previous_text is None else previous_text)
    return event


def unfurled(original: dict[str, Any], after_s: float = 1.0) -> dict[str, Any]:
    """Slack attached a link preview: the message changed, its text did not (no `edited`)."""
    event_ts = f"{float(original['ts']) + after_s:.6f}"
    message = _message(original, original["text"])
    message["attachments"] = [{"from_url": "https://wiki.example/vpn", "title": "VPN guide", "id": 1,
                               "original_url": "https://wiki.example/vpn", "fallback": "VPN guide"}]
    event = _outer(original, "message_changed", event_ts)
    event["message"], event["previous_message"] = message, _message(original, original["text"])
    return event


def replied_under(original: dict[str, Any], reply_ts: str) -> dict[str, Any]:
    """A reply was posted under the message: Slack sends the parent again with its new reply count."""
    message = _message(original, original["text"])
    message.update({"thread_ts": original["ts"], "reply_count": 1, "reply_users_count": 1, "latest_reply": reply_ts,
                    "reply_users": ["UBOT"], "is_locked": False, "subscribed": False})
    event = _outer(original, "message_changed", reply_ts)
    event["message"], event["previous_message"] = message, _message(original, original["text"])
    return event


def deleted(original: dict[str, Any], after_s: float = 5.0) -> dict[str, Any]:
    """The message was deleted (a message with no thread under it, e.g. a follow-up inside a thread)."""
    event = _outer(original, "message_deleted", f"{float(original['ts']) + after_s:.6f}")
    event["deleted_ts"] = original["ts"]
    event["previous_message"] = _message(original, original["text"])
    return event


def tombstoned(original: dict[str, Any], after_s: float = 5.0) -> dict[str, Any]:
    """A message with a thread under it was deleted: Slack keeps a tombstone in its place."""
    event = _outer(original, "message_changed", f"{float(original['ts']) + after_s:.6f}")
    event["message"] = {"type": "message", "subtype": "tombstone", "text": "This message was deleted.",
                        "user": "USLACKBOT", "hidden": True, "ts": original["ts"], "thread_ts": original["ts"],
                        "parent_user_id": "USLACKBOT", "reply_count": 1, "reply_users_count": 1,
                        "latest_reply": original["ts"], "reply_users": ["UBOT"], "is_locked": False,
                        "subscribed": False}
    event["previous_message"] = _message(original, original["text"])
    return event
