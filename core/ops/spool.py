"""Putting a message on the queue exactly once, and holding it locally while Redis is unreachable.

`enqueue` appends to the stream with one Lua script keyed on the message's identity (platform, tenant,
message id: a Slack event_id, a Telegram chat:message id): a second submit of the same message (a
platform re-delivery, a client retry after a reply lost in a Redis crash, a spool flush repeated after
a worker died mid-flush) returns the first entry's id instead of queueing it again.

`Spool`: when Redis cannot be reached, a receiver still owes the platform an answer. The message (already
sealed with the vault key) is written to one file under `<data_dir>/spool/` and flushed into the stream by
`Spool.flush` once Redis answers again, oldest first; the same script makes a repeated flush harmless.
Without a sealing key the spool stays in memory: personal data is never written to disk in clear text.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger("deskmate.queue")

SUBMITTED_TTL_S = 86_400  # a re-delivery of a message within a day is recognised

# KEYS[1] the message's identity marker, KEYS[2] the stream; ARGV[1] the payload, ARGV[2] the marker's ttl.
ENQUEUE_ONCE = """
local seen = redis.call('GET', KEYS[1])
if seen then return {0, seen} end
local id = redis.call('XADD', KEYS[2], '*', 'inbound', ARGV[1])
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[2]))
return {1, id}
"""


class Enqueuer:
    def __init__(self, redis: aioredis.Redis, stream: str) -> None:
        self.stream = stream
        self.script = redis.register_script(ENQUEUE_ONCE)

    async def enqueue(self, marker: str, payload: bytes) -> tuple[bool, str]:
        """(queued now, entry id); False: this message was queued before, under that id."""
        fresh, entry_id = await self.script(keys=[marker, self.stream], args=[payload, SUBMITTED_TTL_S])
        return bool(fresh), entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


class Spool:
    """Messages that could not be queued, in arrival order: files when sealed, memory otherwise."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.memory: list[tuple[str, str, bytes]] = []  # (name, marker, payload)

    def add(self, marker: str, payload: bytes) -> None:
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        if self.folder is None:
            self.memory.append((name, marker, payload))
            return
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as f:
            f.write(marker.encode() + b"\n" + payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / f"{name}.msg")

    def __len__(self) -> int:
        files = len(list(self.folder.glob("*.msg"))) if self.folder is not None and self.folder.is_dir() else 0
        return files + len(self.memory)

    async def ready(self) -> tuple[bool, str]:
        """A readiness check: not ready while messages wait here for Redis (a load balancer sends new work
        elsewhere; nothing is lost meanwhile)."""
        held = len(self)
        return held == 0, f"{held} message(s) held locally until Redis answers"

    def _entries(self) -> list[tuple[str, str, bytes]]:
        found = list(self.memory)
        if self.folder is not None and self.folder.is_dir():
            for path in self.folder.glob("*.msg"):
                marker, _, payload = path.read_bytes().partition(b"\n")
                found.append((path.stem, marker.decode(), payload))
        return sorted(found)

    def _remove(self, name: str) -> None:
        self.memory = [m for m in self.memory if m[0] != name]
        if self.folder is not None:
            (self.folder / f"{name}.msg").unlink(missing_ok=True)

    async def flush(self, enqueuer: Enqueuer) -> list[str]:
        """Queue every spooled message, oldest first; stops at the first Redis error (kept for next time).
        Returns the entry ids queued now."""
        queued: list[str] = []
        for name, marker, payload in self._entries():
            fresh, entry_id = await enqueuer.enqueue(marker, payload)
            self._remove(name)
            log.info("queue_spool_flushed", entry=entry_id, duplicate=not fresh)
            if fresh:
                queued.append(entry_id)
        return queued
