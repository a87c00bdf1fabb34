"""Build the handoff desk for the composition root:

    handoff = await stack.enter_async_context(open_handoff(settings.handoff, redis, profiles, memory=memory,
                                                           tickets=tools.tickets, ops=ops, pii=pii))
    HandoffStage(handoff, redis, handoff.pii_masks)   # in build_stages: after masking, before anything answers
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

from core.handoff.desk import HandoffDesk
from core.handoff.metrics import HandoffMetrics
from core.handoff.settings import HandoffSettings
from core.handoff.votes import DownvoteTrigger
from core.profile import BotProfile


def pii_mask(pii: Any, profiles: Mapping[str, BotProfile]) -> Any:
    """(conversation, text, bot) -> masked text, with the bot's PII options; raises when masking fails (fail closed)."""
    masker = getattr(pii, "masker", None)
    if masker is None:
        return None

    async def mask(conversation: str, text: str, bot: str) -> str:
        if not text.strip():
            return text
        return (await masker.mask(conversation, text, pii.options(profiles[bot]))).text

    return mask


@asynccontextmanager
async def open_handoff(settings: HandoffSettings, redis: aioredis.Redis, profiles: Mapping[str, BotProfile], *,
                       memory: Any = None, tickets: Any = None, ops: Any = None,
                       pii: Any = None) -> AsyncIterator[HandoffDesk]:
    metrics = HandoffMetrics(ops.metrics.registry) if ops is not None else None
    desk = HandoffDesk(redis, settings, profiles, memory=memory, tickets=tickets,
                     feedback=getattr(ops, "feedback", None), metrics=metrics, mask=pii_mask(pii, profiles))
    if pii is not None:  # the PII stage's own rule: masked when locked or the `pii` feature is on for the turn
        desk.pii_masks = lambda turn: bool(pii.locked or turn.enabled("pii"))
    if desk.feedback is not None:  # two 👎 in a row open the handoff at the press
        desk.feedback.on_recorded.append(DownvoteTrigger(desk, redis, desk.feedback).on_vote)
    if metrics is not None and tickets is not None:
        metrics.watch_tickets(ops.metrics, tickets)
    desk.start()
    try:
        yield desk
    finally:
        await desk.aclose()
