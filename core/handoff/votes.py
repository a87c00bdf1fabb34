"""Two 👎 in a row bring a person in, at the second press (not at the customer's next message).

The handoff stage remembers the conversation's last two answers (`remember`); every recorded press reaches
`DownvoteTrigger.on_vote` (a `FeedbackStore.on_recorded` listener). When the press is a 👎 on one of those two
answers and the same user gave 👎 to both, the handoff opens and the customer is told at once, in the language of
the answers. A 👎 on an older answer does not count. The list is deleted when the trigger fires: the DELETE that
removes it is the claim, so of two workers handling the two presses at once only one opens the handoff.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.handoff.desk import HandoffDesk
from core.models import Inbound
from core.state.keys import key
from core.texts import text

log = structlog.get_logger("deskmate.handoff")

REPLIES_KEPT_S = 86_400


def _name(conversation: str) -> str:
    return key("handoff", "replies", conversation)


async def remember(redis: aioredis.Redis, conversation: str, reply_id: str, language: str) -> None:
    """The conversation's newest answer (the list keeps two)."""
    name = _name(conversation)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(name, f"{reply_id}|{time.time()}|{language}")
        pipe.ltrim(name, 0, 1)
        pipe.expire(name, REPLIES_KEPT_S)
        await pipe.execute()


async def recent(redis: aioredis.Redis, conversation: str) -> list[tuple[str, str]]:
    """(reply id, language) of the last two answers, newest first."""
    out = []
    for raw in await redis.lrange(_name(conversation), 0, 1):
        parts = raw.decode().split("|")
        out.append((parts[0], parts[2] if len(parts) > 2 else "en"))
    return out


class DownvoteTrigger:
    def __init__(self, desk: HandoffDesk, redis: aioredis.Redis, feedback: Any) -> None:
        self.desk = desk
        self.redis = redis
        self.feedback = feedback

    async def on_vote(self, press: Inbound) -> None:
        desk, action = self.desk, press.action
        if action is None or action.kind != "feedback_down" or not desk.available \
                or not desk.options(press.bot).on("downvotes"):
            return
        conversation = press.conversation_key
        last = await recent(self.redis, conversation)
        if len(last) < 2 or action.ref not in {reply_id for reply_id, _ in last}:
            return  # fewer than two answers, or a 👎 on an older one
        for reply_id, _ in last:
            vote = await self.feedback.vote(reply_id, press.user)
            if vote is None or vote.value != "down":
                return
        if not await self.redis.delete(_name(conversation)):
            return  # another worker's press fired it
        language = last[0][1]
        summary, history = "", []
        if desk.memory is not None:
            summary, history = await desk.memory.load(conversation)
        opened = await desk.open(press, reason="downvotes", language=language, history=history, summary=summary)
        log.info("handoff_downvotes", conversation_open=opened is not None)
        if opened is not None:
            await desk.tell(opened, text("handoff_opened", language))
