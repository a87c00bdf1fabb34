"""Tickets: shared in Redis (every worker sees them), numbered, linked to the conversation, with a status agents
change (open -> pending -> resolved) and connectors that forward them to a helpdesk.

Keys: dm:tickets:seq (counter), dm:ticket:<number> (JSON; Fernet-encrypted with the PII vault key once
`seal_with` is called: a ticket carries real values for the helpdesk, so Redis never holds them in clear),
dm:tickets:status:<platform>:<tenant> (hash status -> count), dm:tickets:tenants (set "platform|tenant").
Forwarding runs in the background through the configured connectors (core/tools/ticket_connectors.py: a generic
webhook, Zendesk's REST API) so a slow helpdesk never delays the answer; a ticket that could not be forwarded
stays stored with `forwarded` false.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog
from cryptography.fernet import Fernet

from core.state.keys import key

log = structlog.get_logger("deskmate.tickets")

NUMBER_OFFSET = 1000  # DM-1001 is the first ticket
STATUSES = ("open", "pending", "resolved")


@dataclass(frozen=True)
class Ticket:
    number: str
    platform: str
    tenant: str
    user: str
    conversation: str
    summary: str
    description: str
    priority: str
    category: str
    status: str
    created_at: float
    forwarded: bool
    external_id: str = ""  # the helpdesk's id (e.g. a Zendesk ticket id)
    updated_at: float = 0.0
    updated_by: str = ""


class Connector(Protocol):
    """Forwards tickets to a helpdesk. `create` returns the helpdesk's id (or "")."""

    name: str

    async def create(self, ticket: Ticket) -> str: ...

    async def update_status(self, ticket: Ticket) -> None: ...


class TicketStore:
    def __init__(self, redis: aioredis.Redis, prefix: str = "DM", connectors: Sequence[Connector] = ()) -> None:
        self.redis = redis
        self.prefix = prefix
        self.connectors = list(connectors)
        self.sealer: Fernet | None = None
        self.on_created: list[Callable[[Ticket], Awaitable[None]]] = []  # e.g. the inbox posts it for agents
        self._tasks: set[asyncio.Task[None]] = set()

    def seal_with(self, key_bytes: bytes | None) -> None:
        """Encrypt tickets at rest (the PII vault key every worker shares)."""
        self.sealer = Fernet(key_bytes) if key_bytes else None

    def _dump(self, ticket: Ticket | dict[str, Any]) -> bytes:
        raw = json.dumps(ticket if isinstance(ticket, dict) else asdict(ticket), ensure_ascii=False).encode()
        return self.sealer.encrypt(raw) if self.sealer else raw

    def _parse(self, raw: bytes) -> dict[str, Any]:
        if self.sealer is not None and raw[:1] != b"{":
            raw = self.sealer.decrypt(raw)
        return json.loads(raw)

    def _key(self, number: str) -> str:
        return key("ticket", number)

    def canonical(self, number: str) -> str | None:
        head, _, tail = number.strip().upper().rpartition("-")
        if (head and head != self.prefix) or not tail.isdigit():
            return None
        return f"{self.prefix}-{int(tail)}"

    async def create(self, *, platform: str, tenant: str, user: str, conversation: str, summary: str,
                     description: str, priority: str, category: str, announce: bool = True) -> Ticket:
        """Store and forward a new ticket; `announce`: tell the `on_created` listeners (the inbox) too."""
        seq = int(await self.redis.incr(key("tickets", "seq")))
        now = time.time()
        ticket = Ticket(number=f"{self.prefix}-{NUMBER_OFFSET + seq}", platform=platform, tenant=tenant, user=user,
                        conversation=conversation, summary=summary, description=description, priority=priority,
                        category=category, status="open", created_at=now, forwarded=False, updated_at=now)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(ticket.number), self._dump(ticket))
            pipe.hincrby(key("tickets", "status", platform, tenant), "open", 1)
            pipe.sadd(key("tickets", "tenants"), f"{platform}|{tenant}")
            await pipe.execute()
        log.info("ticket_created", ticket=ticket.number, platform=platform, tenant=tenant, priority=priority,
                 category=category)
        self._background(self._forward(ticket), f"ticket-forward:{ticket.number}")
        for listener in self.on_created if announce else ():
            try:
                await listener(ticket)
            except Exception as exc:  # the ticket is stored either way
                log.warning("ticket_listener_failed", ticket=ticket.number, error=type(exc).__name__)
        return ticket

    async def _load(self, number: str) -> Ticket | None:
        canonical = self.canonical(number)
        raw = await self.redis.get(self._key(canonical)) if canonical else None
        return Ticket(**self._parse(raw)) if raw else None

    async def get(self, number: str, platform: str, tenant: str) -> Ticket | None:
        """A ticket of this platform and tenant (never another tenant's, whatever number is asked for)."""
        ticket = await self._load(number)
        if ticket is None or ticket.platform != platform or ticket.tenant != tenant:
            return None
        return ticket

    async def set_status(self, number: str, status: str, by: str) -> Ticket | None:
        """Change a ticket's status (an agent's button in the inbox); the helpdesk is told in the background."""
        if status not in STATUSES:
            raise ValueError(f"ticket status must be one of {STATUSES}, not {status!r}")
        name = self.canonical(number)
        if name is None:
            return None
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._key(name))
                    raw = await pipe.get(self._key(name))
                    if not raw:
                        return None
                    old = Ticket(**self._parse(raw))
                    if old.status == status:
                        return old
                    new = replace(old, status=status, updated_at=time.time(), updated_by=by)
                    pipe.multi()
                    pipe.set(self._key(name), self._dump(new))
                    counts = key("tickets", "status", old.platform, old.tenant)
                    pipe.hincrby(counts, old.status, -1)
                    pipe.hincrby(counts, status, 1)
                    await pipe.execute()
                    break
                except aioredis.WatchError:
                    continue
        log.info("ticket_status", ticket=name, old=old.status, new=status, by=by)
        self._background(self._update(new), f"ticket-update:{name}")
        return new

    async def count(self) -> int:
        return max(0, int(await self.redis.get(key("tickets", "seq")) or 0))

    async def by_status(self, platform: str | None = None, tenant: str | None = None) -> dict[str, dict[str, int]]:
        """{"platform|tenant": {status: count}}, optionally for one tenant only."""
        out: dict[str, dict[str, int]] = {}
        for raw in sorted(await self.redis.smembers(key("tickets", "tenants"))):
            scope = raw.decode()
            p, _, t = scope.partition("|")
            if (platform and p != platform) or (tenant and t != tenant):
                continue
            counts = await self.redis.hgetall(key("tickets", "status", p, t))
            out[scope] = {s: int(counts.get(s.encode(), 0)) for s in STATUSES}
        return out

    async def stats(self, platform: str, tenant: str) -> dict[str, Any]:
        """Admin `stats`: this tenant's tickets by status."""
        counts = (await self.by_status(platform, tenant)).get(f"{platform}|{tenant}")
        if not counts:
            return {}
        return {"stat_tickets": ("stat_tickets_value", counts)}

    # -- forwarding

    def _background(self, work: Any, name: str) -> None:
        if not self.connectors:
            work.close()
            return
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, ticket: Ticket) -> None:
        external = ""
        forwarded = False
        for connector in self.connectors:
            started = time.perf_counter()
            try:
                external = await connector.create(ticket) or external
                forwarded = True
                log.info("ticket_forwarded", ticket=ticket.number, connector=connector.name,
                         latency_ms=round((time.perf_counter() - started) * 1000, 1))
            except Exception as exc:
                log.warning("ticket_forward_failed", ticket=ticket.number, connector=connector.name,
                            error=type(exc).__name__, latency_ms=round((time.perf_counter() - started) * 1000, 1))
        if forwarded:
            await self._patch(ticket.number, forwarded=True, external_id=external)

    async def _update(self, ticket: Ticket) -> None:
        for connector in self.connectors:
            try:
                await connector.update_status(ticket)
            except Exception as exc:
                log.warning("ticket_update_failed", ticket=ticket.number, connector=connector.name,
                            error=type(exc).__name__)

    async def _patch(self, number: str, **fields: Any) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self._key(number))
                    raw = await pipe.get(self._key(number))
                    if not raw:
                        return
                    data = {**self._parse(raw), **fields}
                    pipe.multi()
                    pipe.set(self._key(number), self._dump(data))
                    await pipe.execute()
                    return
                except aioredis.WatchError:
                    continue

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for background forwarding (shutdown, tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
