"""A Redis Stream between the part that receives platform events and the part that answers them.

`submit` appends the Inbound (JSON, cleaned of lone surrogates and control characters) to the stream
`dm:queue:<stream>` once per message id (core/ops/spool.py), or, while Redis is unreachable, holds it in a local
spool flushed when Redis is back (/readyz says so meanwhile). Workers read it through a consumer group
(XREADGROUP) and answer with the platform's Responder. A message is acknowledged (XACK + XDEL) only after its
answer was rendered to the end, so a worker that dies mid-message leaves it pending; another worker (or the
restarted one) takes it over with XAUTOCLAIM once it has been idle `claim_idle_s`. A live worker keeps its
messages fresh (XCLAIM JUSTID heartbeat), so a long answer is never taken over while it is still streaming.

Exactly once: the answer's completion is recorded (`dm:queue:done:<entry id>`) before the ack, so a message taken
over after its answer was sent but before the ack is only acknowledged, not answered again. (The one window left
is a crash between the last platform call and that record, a few microseconds.) A message delivered
`max_attempts` times is given up with an apology.

Admission (core/ops/admission.py): at most `concurrency` messages are answered at once, fewer while the event
loop lags; the rest wait in the stream (where another worker can take them). Graceful stop (`drain`): take no
new messages, let in-flight answers finish for `timeout_s`, then end the still-open ones clearly.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog
from cryptography.fernet import Fernet, InvalidToken
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from core.background import raise_if_cancelling
from core.engine import Engine
from core.language import reply_language
from core.llm.deadline import start_answer
from core.models import Error, Inbound, ReplyEvent
from core.ops.admission import Admission
from core.ops.clean import clean_inbound
from core.ops.closing import closable, single
from core.ops.metrics import Metrics
from core.ops.settings import QueueSettings
from core.ops.spool import Enqueuer, Spool
from core.state.keys import key
from core.texts import text

log = structlog.get_logger("deskmate.queue")

DONE_TTL_S = 86_400
READ_BLOCK_MS = 1000
CLOSE_GRACE_S = 5.0
MINE_WAIT_S = 3.0
FERNET_PREFIX = b"gAAAAA"  # every Fernet token starts with its version byte 0x80, base64-encoded
SPAWNED_KEEP = 10_000  # entry ids remembered to close the submit/pick-up race
PROBE_S = 0.05  # the loop-lag probe's period
FLUSH_EVERY_S = 0.5  # while messages wait in the local spool: how often Redis is tried again
REDIS_DOWN = (RedisError, OSError)  # ConnectionError, TimeoutError (redis' and the OS's)


class RedisStreamDispatcher:
    """The Dispatcher (register/submit/drain) over a Redis Stream and consumer group."""

    def __init__(self, engine: Engine, redis: aioredis.Redis, settings: QueueSettings | None = None,
                 metrics: Metrics | None = None, consumer: str | None = None, seal_key: bytes | None = None,
                 spool_dir: Path | None = None) -> None:
        self.engine = engine
        # Queued messages hold the user's text before masking: encrypted at rest in Redis (the PII vault's key).
        self.sealer = Fernet(seal_key) if seal_key else None
        self.redis = redis
        self.settings = settings or QueueSettings()
        self.metrics = metrics
        self.stream = key("queue", self.settings.stream)
        self.enqueuer = Enqueuer(redis, self.stream)
        # While Redis is unreachable, submitted messages wait here (on disk only when sealed).
        self.spool = Spool(spool_dir if self.sealer is not None else None)
        self._flusher: asyncio.Task[None] | None = None
        self.group = self.settings.group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.responders: dict[str, Any] = {}
        self.accepting = True
        self.consume_on_submit = self.settings.role == "both"
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.mine: set[str] = set()  # entries this process submitted and has not seen answered
        self._spawned: dict[str, None] = {}  # recently picked-up entry ids (bounded, insertion-ordered)
        self.admission = Admission(self.settings.concurrency, self.settings.max_loop_lag_ms / 1000)
        self._loop: asyncio.Task[None] | None = None
        self._group_ready = False
        self._slot_freed = asyncio.Event()
        self._mine_done = asyncio.Event()
        self._cut = asyncio.Event()  # set when the drain deadline passes: close open streams now
        self._stopping = False
        if metrics is not None:
            metrics.add_refresher(self._refresh_metrics)

    # -- Dispatcher protocol

    def register(self, responder: Any) -> None:
        self.responders[responder.platform] = responder

    async def submit(self, inbound: Inbound) -> None:
        """Queue one message (the receiving side), once per message id; while Redis is unreachable, hold it in
        the local spool (flushed when Redis is back). Raises RuntimeError once shutting down."""
        if not self.accepting:
            raise RuntimeError("dispatcher is shutting down")
        inbound = clean_inbound(inbound)  # lone surrogates would make it unserializable: never answered
        payload = inbound.model_dump_json().encode()
        if self.sealer is not None:
            payload = self.sealer.encrypt(payload)
        marker = key("queue", "submitted", inbound.platform, inbound.tenant, inbound.message_id)
        try:
            await self._ensure_group()
            fresh, entry_id = await self.enqueuer.enqueue(marker, payload)
        except REDIS_DOWN as exc:
            self.spool.add(marker, payload)
            log.warning("queue_spooled", platform=inbound.platform, message_id=inbound.message_id,
                        error=type(exc).__name__, spooled=len(self.spool))
            self._start_flusher()
            return
        if not fresh:
            log.info("queue_duplicate_submit", entry=entry_id, platform=inbound.platform,
                     message_id=inbound.message_id)
            return
        log.debug("queued", entry=entry_id, platform=inbound.platform, message_id=inbound.message_id)
        self._queued_here(entry_id)
        if self.consume_on_submit:
            await self.start()

    def _queued_here(self, entry_id: str) -> None:
        if self.consume_on_submit and entry_id not in self._spawned:  # the consumer may have picked it up already
            self.mine.add(entry_id)
            self._mine_done.clear()

    def _start_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_spool(), name=f"queue-spool:{self.consumer}")

    async def _flush_spool(self) -> None:
        """Until the spool is empty: try Redis every FLUSH_EVERY_S, queue what waits, then start answering."""
        while len(self.spool):
            try:
                await self._ensure_group()
                for entry_id in await self.spool.flush(self.enqueuer):
                    self._queued_here(entry_id)
            except REDIS_DOWN:
                raise_if_cancelling()
                await asyncio.sleep(FLUSH_EVERY_S)
                continue
            except Exception as exc:  # never die with messages still held
                log.warning("queue_spool_flush_failed", error=type(exc).__name__)
                await asyncio.sleep(FLUSH_EVERY_S)
                continue
            if self.consume_on_submit and not self._stopping:
                await self.start()

    async def start(self) -> None:
        """Start answering (the worker side). Idempotent."""
        if len(self.spool):  # held by an earlier run that lost Redis: queue them first
            self._start_flusher()
        await self._ensure_group()
        if self._loop is None and not self._stopping:
            self._loop = asyncio.create_task(self._consume(), name=f"queue-consumer:{self.consumer}")

    async def ready(self) -> tuple[bool, str]:
        """The worker side: answering queued messages (asked of a worker; a receiver only queues)."""
        if self._loop is None or self._loop.done():
            return False, "not consuming the queue"
        return True, ""

    async def drain(self, timeout_s: float) -> None:
        """Stop taking messages; give in-flight answers `timeout_s`, then close the open ones with an ending."""
        self.accepting = False
        deadline = time.monotonic() + timeout_s
        if self.mine and self._loop is not None:  # let what this process queued be picked up (by anyone) first
            waiter = asyncio.ensure_future(self._mine_done.wait())
            await asyncio.wait([waiter], timeout=min(timeout_s, MINE_WAIT_S))
            waiter.cancel()
        self._stopping = True
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            if len(self.spool):
                log.warning("queue_spool_left", held=len(self.spool), on_disk=self.spool.folder is not None)
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        pending = set(self.tasks.values())
        if pending:
            await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        if any(not t.done() for t in pending):
            log.warning("drain_closing_streams", open=sum(not t.done() for t in pending))
            self._cut.set()
            await asyncio.wait(pending, timeout=CLOSE_GRACE_S)
        for task in pending:
            if not task.done():
                task.cancel()  # still pending in the stream: another worker will answer it

    # -- the worker side

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _consume(self) -> None:
        probe = asyncio.create_task(self._probe_lag(), name=f"queue-lag-probe:{self.consumer}")
        try:
            await self._read_loop()
        finally:
            probe.cancel()

    async def _probe_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(PROBE_S)
            if self.admission.observe(loop.time() - started - PROBE_S, len(self.tasks)):
                self._slot_freed.set()

    async def _read_loop(self) -> None:
        claim_every = max(0.2, self.settings.claim_idle_s / 4)
        next_claim = 0.0
        while not self._stopping:
            try:
                free = self.admission.allowed() - len(self.tasks)
                if free <= 0:
                    self._slot_freed.clear()
                    self.admission.wanted = True
                    await self._slot_freed.wait()
                    continue
                self.admission.wanted = False
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + claim_every
                    await self._reclaim(free)
                    free = self.admission.allowed() - len(self.tasks)
                    if free <= 0:
                        continue
                reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"},
                                                    count=min(free, 100), block=READ_BLOCK_MS)
                for _stream, entries in reply or []:
                    for entry_id, fields in entries:
                        self._spawn(entry_id.decode(), fields, reclaimed=False)
            except asyncio.CancelledError:
                raise
            except ResponseError as exc:
                if "NOGROUP" in str(exc):  # the stream was deleted (e.g. FLUSHDB): recreate
                    self._group_ready = False
                    await self._ensure_group()
                    continue
                log.warning("queue_read_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)
            except Exception as exc:  # Redis down: keep trying, never die
                log.warning("queue_read_failed", error=type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _reclaim(self, count: int) -> None:
        """Take over messages left pending too long by a dead (or stuck) worker."""
        min_idle_ms = int(self.settings.claim_idle_s * 1000)
        result = await self.redis.xautoclaim(self.stream, self.group, self.consumer, min_idle_ms,
                                             start_id="0-0", count=min(count, 100))
        entries = result[1] if len(result) > 1 else []
        for entry_id, fields in entries:
            eid = entry_id.decode()
            if eid in self.tasks:
                continue
            if not fields:  # deleted from the stream but still pending: nothing to answer
                await self._ack(eid)
                continue
            log.info("queue_reclaimed", entry=eid)
            if self.metrics is not None:
                self.metrics.queue_reclaimed.inc()
            self._spawn(eid, fields, reclaimed=True)

    def _spawn(self, entry_id: str, fields: dict[bytes, bytes], reclaimed: bool) -> None:
        task = asyncio.create_task(self._handle(entry_id, fields, reclaimed), name=f"answer:{entry_id}")
        self.tasks[entry_id] = task
        self._spawned[entry_id] = None
        if len(self._spawned) > SPAWNED_KEEP:
            del self._spawned[next(iter(self._spawned))]
        self.mine.discard(entry_id)
        if not self.mine:
            self._mine_done.set()

        def done(_: asyncio.Task[None]) -> None:
            self.tasks.pop(entry_id, None)
            self._slot_freed.set()

        task.add_done_callback(done)

    async def _handle(self, entry_id: str, fields: dict[bytes, bytes], reclaimed: bool) -> None:
        try:
            await self._answer(entry_id, fields, reclaimed)
        except REDIS_DOWN as exc:  # left pending in the stream: answered (or finished) once Redis is back
            log.warning("queue_redis_unreachable", entry=entry_id, error=type(exc).__name__)

    async def _answer(self, entry_id: str, fields: dict[bytes, bytes], reclaimed: bool) -> None:
        payload = fields.get(b"inbound", b"")
        if self.sealer is not None:
            try:
                payload = self.sealer.decrypt(payload)
            except InvalidToken:
                if payload.startswith(FERNET_PREFIX):  # sealed with another key: leave it for a worker that
                    log.error("queue_entry_not_decryptable", entry=entry_id)  # shares DESKMATE_PII__VAULT_KEY
                    return
                log.error("queue_bad_entry", entry=entry_id)
                await self._ack(entry_id)
                return
        try:
            inbound = Inbound.model_validate_json(payload)
        except ValidationError:
            log.error("queue_bad_entry", entry=entry_id)
            await self._ack(entry_id)
            return
        if await self.redis.exists(key("queue", "done", entry_id)):
            log.info("queue_already_answered", entry=entry_id, message_id=inbound.message_id)
            await self._ack(entry_id)
            return
        responder = self.responders.get(inbound.platform)
        if responder is None:
            log.warning("queue_no_responder", entry=entry_id, platform=inbound.platform)
            return  # left pending for a worker that has this platform
        attempts_key = key("queue", "attempts", entry_id)
        attempts = await self.redis.incr(attempts_key)
        await self.redis.expire(attempts_key, DONE_TTL_S)
        if attempts > self.settings.max_attempts:
            log.error("queue_gave_up", entry=entry_id, message_id=inbound.message_id, attempts=attempts - 1)
            if self.metrics is not None:
                self.metrics.queue_dropped.inc()
            await self._respond(responder, inbound, single(Error(code="internal", message=text(
                "internal", reply_language(inbound.text, inbound.locale)))))
            await self._finish(entry_id)
            return
        heartbeat = asyncio.create_task(self._heartbeat(entry_id))
        if self.metrics is not None:
            self.metrics.queue_in_flight.inc()
        try:
            start_answer(inbound.received_at)  # the model chain's shared budget (core/llm/deadline.py)
            events = closable(self.engine.handle(inbound), inbound, self._cut)
            answered = await self._respond(responder, inbound, events)
        finally:
            heartbeat.cancel()
            if self.metrics is not None:
                self.metrics.queue_in_flight.dec()
        if answered:
            await self._finish(entry_id)
            log.info("queue_answered", entry=entry_id, message_id=inbound.message_id, reclaimed=reclaimed,
                     attempt=attempts)

    async def _respond(self, responder: Any, inbound: Inbound, events: AsyncIterator[ReplyEvent]) -> bool:
        try:
            await responder.respond(inbound, events)
            return True
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # left pending; retried up to max_attempts
            log.exception("respond_failed", platform=inbound.platform, error=type(exc).__name__)
            return False

    async def _finish(self, entry_id: str) -> None:
        await self.redis.set(key("queue", "done", entry_id), b"1", ex=DONE_TTL_S)
        await self._ack(entry_id)

    async def _ack(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.xdel(self.stream, entry_id)
            pipe.delete(key("queue", "attempts", entry_id))
            await pipe.execute()

    async def _heartbeat(self, entry_id: str) -> None:
        """Reset the entry's idle time while we work on it, so nobody takes it over."""
        every = max(0.1, self.settings.claim_idle_s / 3)
        while True:
            await asyncio.sleep(every)
            try:
                await self.redis.xclaim(self.stream, self.group, self.consumer, 0, [entry_id], justid=True)
            except Exception as exc:
                log.warning("queue_heartbeat_failed", entry=entry_id, error=type(exc).__name__)

    async def _refresh_metrics(self) -> None:
        if self.metrics is None:
            return
        try:
            summary = await self.redis.xpending(self.stream, self.group)
            length = await self.redis.xlen(self.stream)
        except ResponseError:
            return
        pending = int(summary.get("pending", 0)) if isinstance(summary, dict) else 0
        self.metrics.queue_pending.set(pending)
        self.metrics.queue_lag.set(max(0, length - pending))
