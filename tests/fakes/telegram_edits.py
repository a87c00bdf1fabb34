"""Telegram's `edited_message` update for a message sent with `FakeBotAPI.message_update` (Bot API: the new
version of a message the bot received: same `message_id`, same `date`, `edit_date` set, the whole new text and
its entities). There is no deletion update for ordinary chats, so there is no builder for one."""

from __future__ import annotations

import copy
from typing import Any


def edited_update(fake: Any, original: dict[str, Any], text: str, after_s: int = 5, *,
                  entities: list[dict[str, Any]] | None = None, user_id: int | None = None,
                  update_id: int | None = None) -> dict[str, Any]:
    message = copy.deepcopy(original["message"])
    message["text"] = text
    message["edit_date"] = int(message["date"]) + after_s
    message.pop("entities", None)
    if entities:
        message["entities"] = entities
    if user_id is not None:
        message["from"]["id"] = user_id
    return {"update_id": update_id if update_id is not None else fake.next_update_id(), "edited_message": message}
