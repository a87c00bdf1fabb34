"""Build the operations parts from settings, in one place the composition root calls.

    ops = await stack.enter_async_context(open_ops(settings, redis, gateway, parts))
    stages = [*ops.stages, ...]            # limits first, then the reply ledger
    observers = [LogObserver(), *ops.observers]
    dispatcher = ops.dispatcher(engine)
    ops.attach(services)                  # feedback sink, metrics port, admin stats and `limit`
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from core.engine import Engine, Observer, Stage
from core.ops import tracing
from core.ops.feedback import FeedbackStore, RecordStage
from core.ops.health import Readiness, gateway_check, redis_check, vector_store_check
from core.ops.limits import Limits, LimitsStage
from core.ops.metrics import Metrics, PrometheusObserver
from core.ops.queue import RedisStreamDispatcher
from core.ops.settings import FeedbackSettings, LimitsSettings, OtelSettings, QueueSettings
from core.pii.vault import load_or_create_key

log = structlog.get_logger("deskmate.ops")


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
    stages: list[Stage] = field(default_factory=list)
    queue: RedisStreamDispatcher | None = None
    seal_key: bytes | None = None  # encrypts queued messages (the PII vault key)

    def dispatcher(self, engine: Engine) -> RedisStreamDispatcher:
        self.queue = RedisStreamDispatcher(engine, self.redis, self.queue_settings, metrics=self.metrics,
                                           seal_key=self.seal_key)
        return self.queue

    def attach(self, services: Any) -> None:
        services.extras["feedback"] = self.feedback.submit
        services.extras["metrics"] = self.metrics
        services.admin.add_stats(self.limits.stats)
        services.admin.add_stats(self.feedback.stats)
        services.admin.add_command("limit", self.limits.admin_command, "admin_help_limit")  # a text key


def _seal_key(settings: Any) -> bytes | None:
    """The PII vault key: every worker sharing a Redis must share it (DESKMATE_PII__VAULT_KEY)."""
    pii = getattr(settings, "pii", None)
    data_dir = getattr(settings, "data_dir", None)
    if pii is None or data_dir is None:
        return None
    configured = pii.vault_key.get_secret_value() if pii.vault_key else None
    return load_or_create_key(configured, Path(data_dir))


@asynccontextmanager
async def open_ops(settings: Any, redis: aioredis.Redis, gateway: Any = None, parts: dict[str, Any] | None = None,
                   span_processor: SpanProcessor | None = None) -> AsyncIterator[Ops]:
    """Metrics, tracing, limits, feedback and readiness for one running Deskmate; closed on exit."""
    parts = parts if parts is not None else {}
    otel: OtelSettings = getattr(settings, "otel", OtelSettings())
    limits_settings: LimitsSettings = getattr(settings, "limits", LimitsSettings())
    queue_settings: QueueSettings = getattr(settings, "queue", QueueSettings())
    feedback_settings: FeedbackSettings = getattr(settings, "feedback", FeedbackSettings())

    metrics = Metrics()
    provider = tracing.build_provider(otel, span_processor)
    tracer = tracing.install(provider)
    cache_evictor = lambda: getattr(parts.get("cache"), "evict_reply", None)  # noqa: E731
    feedback = FeedbackStore(redis, feedback_settings.retention_days, evictor=cache_evictor)
    limits = Limits(redis, limits_settings)
    readiness = Readiness()
    readiness.add("redis", redis_check(redis))
    readiness.add("vector_store", vector_store_check(parts))
    if gateway is not None and gateway.available:
        readiness.add("llm", gateway_check(gateway))
    ops = Ops(redis=redis, metrics=metrics, limits=limits, feedback=feedback, readiness=readiness,
              queue_settings=queue_settings, provider=provider, seal_key=_seal_key(settings))
    ops.observers.append(PrometheusObserver(metrics))
    if provider is not None:
        ops.observers.append(tracing.OtelObserver(tracer))
        log.info("tracing_on", endpoint=otel.endpoint or "custom")
    ops.stages = [LimitsStage(limits), RecordStage(feedback, metrics)]
    callback = None
    if gateway is not None and getattr(gateway, "available", False):
        from core.ops.llm_hooks import install_callback, make_callback

        callback = make_callback(metrics)
        install_callback(callback)
        breaker = getattr(gateway, "breaker", None)
        if breaker is not None:
            metrics.watch_breakers(breaker, list(getattr(gateway, "models", [])))
    try:
        yield ops
    finally:
        if ops.queue is not None and not ops.queue._stopping:
            await ops.queue.drain(0)
        if callback is not None:
            from core.ops.llm_hooks import remove_callback

            remove_callback(callback)
        if provider is not None:
            # the exporter posts from its own thread: never block the event loop (a local collector may live on it)
            await asyncio.to_thread(provider.force_flush, 5_000)
            await asyncio.to_thread(provider.shutdown)
        tracing.install(None)
