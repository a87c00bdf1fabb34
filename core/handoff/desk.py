"""The handoff desk: opens a handoff (inbox thread), relays messages both ways, applies Take / Resolve / Hand back,
and the time limits. Stateless: everything is in Redis (core/handoff/state.py), so any worker can do any step, and
every relay is claimed once (`claim_once`) so two workers never deliver the same message twice.

Transcripts in the inbox are audience-filtered: only the user's and the bot's own messages of this conversation
(what the conversation's audience saw), never retrieved passages, tool output or instructions; masked unless the
deployment allows agents to see personal data (`DESKMATE_HANDOFF__SHOW_PII`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.handoff import files
from core.handoff.files import FileRef
from core.handoff.metrics import HandoffMetrics
from core.handoff.ports import Card, CustomerChannel, Inbox
from core.handoff.settings import HandoffOptions, HandoffSettings, parse_options
from core.handoff.state import Closed, Handoff, HandoffStore
from core.models import Inbound
from core.profile import BotProfile
from core.texts import text

log = structlog.get_logger("deskmate.handoff")

Mask = Callable[[str, str, str], Awaitable[str]]  # (conversation, text, bot) -> masked text (fail closed: raise)
MESSAGE_CHARS = 500
REPLY_IDS = ("chat_id", "chat_type", "thread_id", "reply_ts", "user_team")


def visible_turns(history: list[dict[str, Any]], limit: int, chars: int = MESSAGE_CHARS) -> list[tuple[str, str]]:
    """The messages the conversation's audience saw: their own and the bot's answers, newest last. Never system
    text, tool calls or tool output (retrieved passages, helpdesk data), which the audience did not see."""
    out = []
    for m in history:
        if m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str) and m["content"].strip() \
                and not m.get("tool_calls"):
            content = " ".join(m["content"].split())
            out.append((m["role"], content if len(content) <= chars else content[:chars - 1] + "…"))
    return out[-limit:] if limit else []


class HandoffDesk:
    def __init__(self, redis: aioredis.Redis, settings: HandoffSettings, profiles: Mapping[str, BotProfile], *,
                 memory: Any = None, tickets: Any = None, feedback: Any = None,
                 metrics: HandoffMetrics | None = None, mask: Mask | None = None) -> None:
        self.settings = settings
        self.store = HandoffStore(redis, settings.keep_days)
        self.memory = memory
        self.tickets = tickets
        self.feedback = feedback
        self.metrics = metrics
        self.mask = mask
        self.inbox: Inbox | None = None
        self.customers: dict[str, CustomerChannel] = {}
        self._options = {name: parse_options(p.handoff, name) for name, p in profiles.items()}
        self._sweeper: asyncio.Task[None] | None = None
        self.pii_masks: Callable[[Any], bool] = lambda turn: False  # set by the builder from the PII stage
        self.on_opened: list[Callable[[Handoff], Awaitable[object]]] = []  # e.g. the gap log marks the question

    # -- wiring

    def set_inbox(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def add_customer_channel(self, platform: str, channel: CustomerChannel) -> None:
        self.customers[platform] = channel

    @property
    def available(self) -> bool:
        return self.inbox is not None and bool(self.settings.inbox_channel)

    def options(self, bot: str) -> HandoffOptions:
        return self._options.get(bot) or HandoffOptions()

    async def active(self, conversation: str) -> Handoff | None:
        h = await self.store.get(conversation)
        return h if h is not None and h.active else None

    # -- text shown to agents

    async def shown(self, h: Handoff, clear: str, masked: str | None = None) -> str:
        """What agents see of a customer's text: clear if allowed, else masked (masked again here if unsure)."""
        if self.settings.show_pii:
            return clear
        if masked is not None:
            return masked
        if self.mask is None:
            return text("handoff_masked_unavailable", self.settings.inbox_language)  # fail closed
        return await self.mask(h.conversation, clear, h.bot)

    async def remember(self, h: Handoff, role: str, clear: str, masked: str | None = None) -> None:
        """Keep the person's part of the conversation in memory (masked), so the bot knows it afterwards."""
        if self.memory is None:
            return
        try:
            stored = masked if masked is not None else (await self.mask(h.conversation, clear, h.bot)
                                                         if self.mask else None)
            if stored:
                await self.memory.append(h.conversation, [{"role": role, "content": stored}])
        except Exception as exc:
            log.warning("handoff_memory_failed", handoff=h.id, error=type(exc).__name__)

    # -- opening

    async def open(self, inbound: Inbound, *, reason: str, language: str, history: list[dict[str, Any]],
                   summary: str = "", unmask: Callable[[str], str] | None = None) -> Handoff | None:
        """Hand the conversation to a person; None if no inbox is configured or one is already open."""
        if not self.available or self.inbox is None:
            return None
        opts = self.options(inbound.bot)
        reply_to = {k: inbound.extras[k] for k in REPLY_IDS if inbound.extras.get(k) is not None}
        h = Handoff(conversation=inbound.conversation_key, platform=inbound.platform, tenant=inbound.tenant,
                    bot=inbound.bot, channel=inbound.channel, thread=inbound.thread, user=inbound.user,
                    language=language, reason=reason, reply_to=reply_to, wait_s=opts.wait_minutes * 60,
                    idle_s=opts.idle_hours * 3600, inbox_channel=self.inbox.channel)
        if not await self.store.create(h):
            return None
        turns = visible_turns(history, self.settings.recent_turns)
        card_summary = summary
        if self.settings.show_pii and unmask is not None:  # memory is masked: agents may see it in clear
            turns = [(role, unmask(content)) for role, content in turns]
            card_summary = unmask(summary)
        elif not self.settings.show_pii and self.mask is not None:  # pii may have been off for this chat
            turns = [(role, await self.mask(h.conversation, content, h.bot)) for role, content in turns]
            card_summary = await self.mask(h.conversation, summary, h.bot) if summary else ""
        card = Card(reason=reason, language=language, summary=card_summary, turns=turns)
        try:
            ts = await self.inbox.open_thread(h, card)
        except Exception as exc:
            log.warning("handoff_inbox_failed", handoff=h.id, error=type(exc).__name__)
            await self.store.update(h.conversation, lambda x: _closed(x, "handed_back", "inbox-failed"))
            return None
        _, opened = await self.store.update(h.conversation, lambda x: _with(x, inbox_ts=ts))
        if self.metrics is not None:
            self.metrics.opened(h.platform, h.tenant, reason)
        log.info("handoff_opened", handoff=h.id, platform=h.platform, tenant=h.tenant, reason=reason)
        for listener in self.on_opened:
            try:
                await listener(h)
            except Exception as exc:  # bookkeeping never stops a handoff
                log.warning("handoff_listener_failed", handoff=h.id, error=type(exc).__name__)
        return opened

    # -- the customer writes while a person has the conversation

    async def from_customer(self, h: Handoff, inbound: Inbound, masked: str | None) -> bool:
        """Relay the customer's message into the thread (once, whichever worker handles it)."""
        if self.inbox is None or not await self.store.claim_once(f"in:{h.id}:{inbound.message_id}"):
            return False
        if inbound.text.strip():
            await self.inbox.post(h, await self.shown(h, inbound.text, masked), "customer")
        if inbound.attachments:  # the files themselves (or a note why not), core/handoff/files.py
            await files.from_customer(self, h, inbound.attachments)
        await self.store.update(h.conversation, lambda x: _with(x, last_activity=time.time()))
        remembered, masked_memory = inbound.text, masked
        if inbound.attachments:  # the kinds only: never a file's name or content
            kinds = text("handoff_attachment", h.language, kinds=", ".join(a.kind for a in inbound.attachments))
            remembered = f"{inbound.text}\n[{kinds}]".strip()
            masked_memory = f"{masked}\n[{kinds}]".strip() if masked is not None else None
        await self.remember(h, "user", remembered, masked_memory)
        return True

    async def note_once(self, h: Handoff) -> bool:
        """True the first time only: the customer is told once that a colleague is on it."""
        _, after = await self.store.update(h.conversation, lambda x: None if x.noted else _with(x, noted=True))
        return after is not None

    # -- agents in the inbox

    async def from_agent(self, channel: str, thread_ts: str, message_ts: str, agent: str, body: str,
                         attached: Sequence[FileRef] = ()) -> bool:
        """Relay an agent's thread reply (text and files) to the customer (once). A reply while waiting takes the
        handoff. In the thread of a handoff that is over, the agent is told it was not delivered."""
        if (not body.strip() and not attached) or body.lstrip().startswith("//"):  # "//": internal note
            return False
        h = await self.store.by_thread(channel, thread_ts)
        if h is None or not h.active:
            if self.inbox is not None and await self.store.known_thread(channel, thread_ts) \
                    and await self.store.claim_once(f"out:{channel}:{message_ts}"):
                await self.inbox.note_in(thread_ts, files.note("inbox_file_notes", "closed_out",
                                                               self.settings.inbox_language))
            return False
        if not await self.store.claim_once(f"out:{channel}:{message_ts}"):
            return False
        now = time.time()
        before, after = await self.store.update(h.conversation, lambda x: _replied(x, agent, now))
        if after is None or before is None:
            return False
        customer = self.customers.get(after.platform)
        if customer is None:
            log.warning("handoff_no_customer_channel", handoff=h.id, platform=after.platform)
            return False
        if body.strip():
            await customer.deliver(after, body)
        if attached:
            await files.from_agent(self, after, attached)
            kinds = text("handoff_attachment", after.language, kinds=", ".join(files.kind_of(f.mime_type)
                                                                                for f in attached))
            body = f"{body}\n[{kinds}]".strip()
        await self.remember(after, "assistant", body)
        if before.first_reply_at is None and self.metrics is not None:
            self.metrics.first_reply_after(after.platform, after.tenant, now - after.opened_at)
        if before.status == "waiting" and self.inbox is not None:
            await self.inbox.refresh(after)
        log.info("handoff_relayed_to_customer", handoff=h.id, agent=agent)
        return True

    async def take(self, channel: str, thread_ts: str, agent: str) -> Handoff | None:
        h = await self.store.by_thread(channel, thread_ts)
        if h is None:
            return None
        _, after = await self.store.update(h.conversation, lambda x: _taken(x, agent, time.time()))
        if after is None:
            return None
        await self.tell(after, text("handoff_taken", after.language))
        if self.inbox is not None:
            await self.inbox.refresh(after)
        log.info("handoff_taken", handoff=h.id, agent=agent)
        return after

    async def close(self, channel: str, thread_ts: str, agent: str, how: Closed) -> Handoff | None:
        """Resolve (or hand back to the bot) from the inbox buttons."""
        h = await self.store.by_thread(channel, thread_ts)
        if h is None:
            return None
        after = await self.close_conversation(h.conversation, how, agent)
        if after is not None:
            await self.after_close(after, text(f"handoff_{how}", after.language))
        return after

    async def close_conversation(self, conversation: str, how: Closed, by: str,
                                 due: Callable[[Handoff], bool] | None = None) -> Handoff | None:
        _, after = await self.store.update(
            conversation, lambda x: _closed(x, how, by) if due is None or due(x) else None)
        if after is None:
            return None
        if self.metrics is not None:
            self.metrics.closed(after.platform, after.tenant, how)
        log.info("handoff_closed", handoff=after.id, how=how, by=by)
        return after

    async def after_close(self, h: Handoff, customer_text: str, note: str | None = None) -> None:
        await self.tell(h, customer_text)
        if self.inbox is not None:
            await self.inbox.refresh(h)
            if note:
                await self.inbox.post(h, note, "note")

    async def tell(self, h: Handoff, body: str) -> None:
        customer = self.customers.get(h.platform)
        if customer is None:
            return
        try:
            await customer.deliver(h, body)
        except Exception as exc:
            log.warning("handoff_customer_note_failed", handoff=h.id, error=type(exc).__name__)

    async def stats(self, platform: str, tenant: str) -> dict[str, Any]:
        """Admin `stats`: this tenant's handoffs of the last 7 days (never another tenant's)."""
        now = time.time()
        mine = [h for h in await self.store.history(now - 7 * 86_400, now)
                if h.platform == platform and h.tenant == tenant]
        if not mine:
            return {}
        return {"stat_handoffs": ("stat_handoffs_value", {
            "total": len(mine), "open": sum(h.active for h in mine),
            "resolved": sum(h.closed_how == "resolved" for h in mine)})}

    # -- time limits

    async def sweep(self, now: float | None = None) -> int:
        """Close what is due: no agent within the wait (ticket + back to the bot), or idle too long."""
        from core.handoff.timeouts import sweep

        return await sweep(self, time.time() if now is None else now)

    async def run_sweeper(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # Redis hiccup: try again next round
                log.warning("handoff_sweep_failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.sweep_interval_s)

    def start(self) -> None:
        if self._sweeper is None and self.settings.inbox_channel:
            self._sweeper = asyncio.create_task(self.run_sweeper(), name="handoff-sweeper")

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None


def _with(h: Handoff, **fields: Any) -> Handoff:
    return h.model_copy(update=fields)


def _replied(h: Handoff, agent: str, now: float) -> Handoff:
    fields: dict[str, Any] = {"last_activity": now}
    if h.status == "waiting":
        fields.update(status="with_person", taken_by=agent, taken_at=now)
    if h.first_reply_at is None:
        fields["first_reply_at"] = now
    return _with(h, **fields)


def _taken(h: Handoff, agent: str, now: float) -> Handoff | None:
    if h.status != "waiting":
        return None
    return _with(h, status="with_person", taken_by=agent, taken_at=now, last_activity=now)


def _closed(h: Handoff, how: Closed, by: str) -> Handoff:
    return _with(h, status="bot", closed_how=how, closed_by=by, closed_at=time.time())
