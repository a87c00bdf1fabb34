"""Build the operations parts from settings, in one place the composition root calls.

    ops = await stack.enter_async_context(open_ops(redis, ops_settings, gateway, evict=cache.evict_reply))
    LimitsStage(ops.limits), RecordStage(ops.feedback, ops.metrics)   # the composition root's stage list
    observers = [LogObserver(), *ops.observers]
    dispatcher = ops.dispatcher(engine)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from core.engine import Engine, Observer
from core.llm import side
from core.llm.gateway import LiteLLMGateway
from core.ops import tracing
from core.ops.feedback import Evictor, FeedbackStore
from core.ops.health import Readiness, redis_check
from core.ops.limits import Limits
from core.ops.metrics import Metrics, PrometheusObserver
from core.ops.queue import RedisStreamDispatcher
from core.ops.settings import FeedbackSettings, LimitsSettings, OtelSettings, QueueSettings

log = structlog.get_logger("deskmate.ops")


@dataclass(frozen=True)
class OpsSettings:
    """The settings the operations parts read (a slice of bots.settings.Settings)."""

    otel: OtelSettings
    limits: LimitsSettings
    queue: QueueSettings
    feedback: FeedbackSettings
    seal_key: bytes | None = None  # the PII vault key: encrypts queued messages
    spool_dir: Path | None = None  # where messages wait (sealed) while Redis is unreachable


@dataclass
class Ops:
    redis: aioredis.Redis
    metrics: Metrics
    limits: Limits
    feedback: FeedbackStore
    readiness: Readiness
    queue_settings: QueueSettings
    provider: TracerProvider | None = None
    observers: list[Observer] = field(default_factory=list)
    queue: RedisStreamDispatcher | None = None
    seal_key: bytes | None = None  # encrypts queued messages (the PII vault key)
    spool_dir: Path | None = None  # messages held while Redis is unreachable (sealed)

    def dispatcher(self, engine: Engine) -> RedisStreamDispatcher:
        self.queue = RedisStreamDispatcher(engine, self.redis, self.queue_settings, metrics=self.metrics,
                                           seal_key=self.seal_key, spool_dir=self.spool_dir)
        self.readiness.add("queue_spool", self.queue.spool.ready)
        return self.queue


@asynccontextmanager
async def open_ops(redis: aioredis.Redis, settings: OpsSettings, gateway: LiteLLMGateway | None = None, *,
                   evict: Evictor | None = None, span_processor: SpanProcessor | None = None) -> AsyncIterator[Ops]:
    """Metrics, tracing, limits, feedback and readiness for one running Deskmate; closed on exit.

    `evict`: drops a cached answer (by reply id) when it gets a thumbs-down."""
    metrics = Metrics()
    provider = tracing.build_provider(settings.otel, span_processor)
    tracer = tracing.install(provider)
    feedback = FeedbackStore(redis, settings.feedback.retention_days, evict=evict)
    limits = Limits(redis, settings.limits)
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    ops = Ops(redis=redis, metrics=metrics, limits=limits, feedback=feedback, readiness=readiness,
              queue_settings=settings.queue, provider=provider, seal_key=settings.seal_key,
              spool_dir=settings.spool_dir)
    ops.observers.append(PrometheusObserver(metrics))
    if provider is not None:
        ops.observers.append(tracing.OtelObserver(tracer))
        log.info("tracing_on", endpoint=settings.otel.endpoint or "custom")
    callback = None
    if gateway is not None and gateway.available:
        from core.ops.llm_hooks import install_callback, make_callback

        callback = make_callback(metrics)
        install_callback(callback)
        metrics.watch_breakers(gateway.breaker, list(gateway.models))
    guard = side.SideGuard(breaker=gateway.breaker if gateway is not None else None, charge=limits.charge_side)
    side.install(guard)  # side model calls: the gateway's breaker, charged to the tenant (core/llm/side.py)
    try:
        yield ops
    finally:
        side.uninstall(guard)
        if ops.queue is not None and ops.queue.accepting:  # not drained by `serve` already (tests, `chat`)
            await ops.queue.drain(0)
        if callback is not None:
            from core.ops.llm_hooks import remove_callback

            remove_callback(callback)
        if provider is not None:
            # the exporter posts from its own thread: never block the event loop (a local collector may live on it)
            await asyncio.to_thread(provider.force_flush, 5_000)
            await asyncio.to_thread(provider.shutdown)
        tracing.install(None)
