"""The handoff time limits, run by every worker's sweeper (the Redis transaction makes one of them win):

- nobody took the conversation within the profile's `wait_minutes`: the customer is told, a ticket is created with
  the masked transcript, the inbox thread gets the ticket, and the bot answers again;
- nobody wrote for `idle_hours`: the handoff resolves itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from core.handoff.desk import visible_turns
from core.handoff.state import Handoff
from core.texts import text

if TYPE_CHECKING:
    from core.handoff.desk import HandoffDesk

log = structlog.get_logger("deskmate.handoff")

TRANSCRIPT_TURNS = 30


async def transcript(desk: HandoffDesk, h: Handoff) -> str:
    """The conversation as its audience saw it, always masked (a ticket leaves for another system)."""
    if desk.memory is None:
        return ""
    summary, history = await desk.memory.load(h.conversation)
    lines = [f"Earlier: {summary}"] if summary else []
    lines += [f"{role}: {content}" for role, content in visible_turns(history, TRANSCRIPT_TURNS)]
    body = "\n".join(lines)
    if body and desk.mask is not None:
        body = await desk.mask(h.conversation, body, h.bot)
    elif body:
        body = ""  # cannot mask: the ticket carries no transcript rather than personal data
    return body


async def _timed_out(desk: HandoffDesk, h: Handoff) -> None:
    number = ""
    if desk.tickets is not None:
        try:
            ticket = await desk.tickets.create(
                platform=h.platform, tenant=h.tenant, user=h.user, conversation=h.conversation,
                summary=text("handoff_ticket_summary", "en", reason=h.reason), description=await transcript(desk, h),
                priority="normal", category="other", announce=False)  # posted in the handoff's own thread
            number = ticket.number
            h = h.model_copy(update={"ticket": number})
            await desk.store.save_record(h)
        except Exception as exc:
            log.warning("handoff_ticket_failed", handoff=h.id, error=type(exc).__name__)
    key = "handoff_timeout_ticket" if number else "handoff_timeout"
    await desk.after_close(h, text(key, h.language, number=number),
                           text("inbox_timeout", desk.settings.inbox_language, number=number or "-"))
    if number and desk.inbox is not None:
        await desk.inbox.ticket_card(h, number, "open")


async def sweep(desk: HandoffDesk, now: float) -> int:
    done = 0
    for conversation in await desk.store.due("waiting", now):
        h = await desk.close_conversation(conversation, "timeout", "timer",
                                          due=lambda x: x.status == "waiting" and x.opened_at + x.wait_s <= now)
        if h is not None:
            done += 1
            await _timed_out(desk, h)
    for conversation in await desk.store.due("idle", now):
        h = await desk.close_conversation(conversation, "idle", "timer",
                                          due=lambda x: x.last_activity + x.idle_s <= now)
        if h is not None:
            done += 1
            await desk.after_close(h, text("handoff_idle", h.language),
                                   text("inbox_idle", desk.settings.inbox_language))
    return done
