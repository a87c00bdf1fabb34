"""Tickets: stored durably in SQLite (numbered, linked to the conversation), optionally forwarded to a webhook.

SQLite calls run in a worker thread (`asyncio.to_thread`); one short-lived connection per call keeps
it safe across threads. Forwarding runs in the background with retries (tenacity) so a slow helpdesk
never delays the answer; a ticket that could not be forwarded stays stored with `forwarded = 0`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

log = structlog.get_logger("deskmate.tickets")

NUMBER_OFFSET = 1000  # DM-1001 is the first ticket

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL, tenant TEXT NOT NULL, user TEXT NOT NULL, conversation TEXT NOT NULL,
    summary TEXT NOT NULL, description TEXT NOT NULL, priority TEXT NOT NULL, category TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open', created_at REAL NOT NULL, forwarded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tickets_user ON tickets (platform, tenant, user);
"""


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


class TicketStore:
    def __init__(self, path: Path, prefix: str = "DM", webhook_url: str | None = None, webhook_attempts: int = 3,
                 webhook_timeout_s: float = 10.0, webhook_wait_s: float = 0.5) -> None:
        self.path = path
        self.prefix = prefix
        self.webhook_url = webhook_url
        self.webhook_attempts = webhook_attempts
        self.webhook_timeout_s = webhook_timeout_s
        self.webhook_wait_s = webhook_wait_s
        self._tasks: set[asyncio.Task[None]] = set()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per call (runs in a worker thread): commit on success, always close."""
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def number(self, row_id: int) -> str:
        return f"{self.prefix}-{NUMBER_OFFSET + row_id}"

    def _row_id(self, number: str) -> int | None:
        head, _, tail = number.strip().upper().rpartition("-")
        if (head and head != self.prefix) or not tail.isdigit():
            return None
        return int(tail) - NUMBER_OFFSET

    def _ticket(self, row: sqlite3.Row) -> Ticket:
        data = dict(row)
        row_id = data.pop("id")
        data["forwarded"] = bool(data["forwarded"])
        return Ticket(number=self.number(row_id), **data)

    async def create(self, *, platform: str, tenant: str, user: str, conversation: str, summary: str,
                     description: str, priority: str, category: str) -> Ticket:
        def insert() -> Ticket:
            with self._connect() as db:
                cur = db.execute(
                    "INSERT INTO tickets (platform, tenant, user, conversation, summary, description, priority,"
                    " category, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (platform, tenant, user, conversation, summary, description, priority, category, time.time()),
                )
                row = db.execute("SELECT * FROM tickets WHERE id = ?", (cur.lastrowid,)).fetchone()
            return self._ticket(row)

        ticket = await asyncio.to_thread(insert)
        log.info("ticket_created", ticket=ticket.number, platform=platform, tenant=tenant, priority=priority,
                 category=category)
        if self.webhook_url:
            task = asyncio.create_task(self._forward(ticket), name=f"ticket-forward:{ticket.number}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return ticket

    async def get(self, number: str, platform: str, tenant: str) -> Ticket | None:
        row_id = self._row_id(number)
        if row_id is None:
            return None

        def select() -> Ticket | None:
            with self._connect() as db:
                row = db.execute("SELECT * FROM tickets WHERE id = ? AND platform = ? AND tenant = ?",
                                 (row_id, platform, tenant)).fetchone()
            return self._ticket(row) if row else None

        return await asyncio.to_thread(select)

    async def count(self) -> int:
        def count() -> int:
            with self._connect() as db:
                return int(db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0])

        return await asyncio.to_thread(count)

    async def _forward(self, ticket: Ticket) -> None:
        assert self.webhook_url
        payload: dict[str, Any] = asdict(ticket)
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout_s)
        started = time.perf_counter()
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(self.webhook_attempts),
                    wait=wait_exponential(multiplier=self.webhook_wait_s, max=30),
                    retry=retry_if_exception_type((aiohttp.ClientError, TimeoutError)),
                    reraise=True,
                ):
                    with attempt:
                        async with session.post(self.webhook_url, data=json.dumps(payload),
                                                headers={"Content-Type": "application/json"}) as resp:
                            resp.raise_for_status()
        except Exception as exc:
            log.warning("ticket_forward_failed", ticket=ticket.number, error=type(exc).__name__,
                        latency_ms=round((time.perf_counter() - started) * 1000, 1))
            return
        await asyncio.to_thread(self._mark_forwarded, ticket.number)
        log.info("ticket_forwarded", ticket=ticket.number, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    def _mark_forwarded(self, number: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE tickets SET forwarded = 1 WHERE id = ?", (self._row_id(number),))

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait for background forwarding (shutdown, tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
