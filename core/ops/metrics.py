"""Prometheus metrics: one registry per running Deskmate, fed by an engine Observer and a few ports.

Labels are ids and small enumerations only (platform, tenant id, model, stage, outcome, tool):
never user text. `PrometheusObserver` is the engine Observer; `Metrics` also offers counters the
platform adapters call (`platform_api_rate_limited`, `platform_api_retry`) and the LLM call hooks
(`core.ops.llm_hooks`). Circuit-breaker state is read from Redis when /metrics is scraped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.models import Error, Final
from core.turn import Turn

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Every Deskmate metric, registered in its own registry (several runtimes can live in one process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.messages = Counter("deskmate_messages", "Messages answered, by outcome (answered or an error code)",
                                ["platform", "tenant", "outcome"], registry=r)
        self.stage_seconds = Histogram("deskmate_stage_seconds", "Self time of each engine stage",
                                       ["stage"], buckets=STAGE_BUCKETS, registry=r)
        self.stage_errors = Counter("deskmate_stage_errors", "Exceptions leaving a stage", ["stage", "error"],
                                    registry=r)
        self.reply_seconds = Histogram("deskmate_reply_seconds", "End-to-end time of a reply",
                                       ["platform"], buckets=REPLY_BUCKETS, registry=r)
        self.first_token_seconds = Histogram("deskmate_first_token_seconds", "Time to the first answer token",
                                             ["platform"], buckets=REPLY_BUCKETS, registry=r)
        self.tokens = Counter("deskmate_tokens", "Model tokens, by direction (in = prompt, out = completion)",
                              ["model", "tenant", "direction"], registry=r)
        self.tokens_estimated = Counter(
            "deskmate_tokens_estimated", "Model tokens counted here with a generic tokenizer (the server sent no "
            "usage and litellm does not know the model), by direction; also counted in deskmate_tokens",
            ["model", "tenant", "direction"], registry=r)
        self.cost = Counter("deskmate_cost_usd", "Model cost in US dollars", ["model", "tenant"], registry=r)
        self.cache = Counter("deskmate_cache_lookups", "Semantic cache lookups", ["result"], registry=r)
        self.cache_verify = Counter("deskmate_cache_verifier", "Cache verifier judgements (yes, no, error, timeout)",
                                    ["outcome"], registry=r)
        self.retrieval = Counter("deskmate_retrieval", "Knowledge retrievals, by result (hits or empty)",
                                 ["result"], registry=r)
        self.tool_calls = Counter("deskmate_tool_calls", "Tool calls, by tool and status", ["tool", "status"],
                                  registry=r)
        self.llm_calls = Histogram("deskmate_llm_call_seconds", "Provider calls (each attempt), by model and outcome",
                                   ["model", "outcome"], buckets=REPLY_BUCKETS, registry=r)
        self.llm_errors = Counter("deskmate_llm_errors", "Failed provider calls, by model and error type",
                                  ["model", "error"], registry=r)
        self.llm_fallbacks = Counter("deskmate_llm_fallbacks", "Replies answered by a fallback, by answering model",
                                     ["model"], registry=r)
        self.breaker_state = Gauge("deskmate_llm_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open",
                                   ["model"], registry=r)
        self.platform_429 = Counter("deskmate_platform_api_rate_limited", "Platform API 429 responses",
                                    ["platform", "method"], registry=r)
        self.platform_retries = Counter("deskmate_platform_api_retries", "Platform API calls retried",
                                        ["platform", "method"], registry=r)
        self.queue_pending = Gauge("deskmate_queue_pending", "Messages delivered to a worker and not yet acked",
                                   registry=r)
        self.queue_lag = Gauge("deskmate_queue_waiting", "Messages in the stream not yet delivered to a worker",
                               registry=r)
        self.queue_in_flight = Gauge("deskmate_queue_in_flight", "Messages being answered by this process",
                                     registry=r)
        self.queue_reclaimed = Counter("deskmate_queue_reclaimed", "Messages taken over from a dead or slow worker",
                                       registry=r)
        self.queue_dropped = Counter("deskmate_queue_dropped", "Messages given up after too many deliveries",
                                     registry=r)
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    # -- ports for other parts

    def platform_api_rate_limited(self, platform: str, method: str) -> None:
        """Adapters call this on a platform API 429 (Slack ratelimited, Telegram TelegramRetryAfter)."""
        self.platform_429.labels(platform, method).inc()

    def platform_api_retry(self, platform: str, method: str) -> None:
        self.platform_retries.labels(platform, method).inc()

    def tool_call(self, tool: str, status: str) -> None:
        self.tool_calls.labels(tool, status).inc()

    def add_refresher(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """An async callback run before each scrape (gauges read from Redis)."""
        self._refreshers.append(refresh)

    def watch_breakers(self, breaker: object, models: Sequence[str]) -> None:
        async def refresh() -> None:
            for model in models:
                state = await breaker.state(model)  # type: ignore[attr-defined]
                self.breaker_state.labels(model).set(BREAKER_VALUES.get(state, 0))

        if models:
            self.add_refresher(refresh)

    async def render(self) -> bytes:
        """The exposition text, after refreshing the Redis-backed gauges (a failing refresh is skipped)."""
        for refresh in self._refreshers:
            try:
                await refresh()
            except Exception:  # a scrape must not fail because Redis hiccups
                pass
        return generate_latest(self.registry)


class PrometheusObserver:
    """The engine Observer that turns stage timings and finished replies into metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def stage_started(self, turn: Turn, stage: str) -> None:
        return None

    def stage_finished(self, turn: Turn, stage: str, self_s: float, error: BaseException | None) -> None:
        try:
            self.m.stage_seconds.labels(stage).observe(self_s)
            if error is not None and not isinstance(error, (GeneratorExit, asyncio.CancelledError)):
                self.m.stage_errors.labels(stage, type(error).__name__).inc()
        except Exception:  # observers never raise
            pass

    def reply_finished(self, turn: Turn, terminal: Final | Error) -> None:
        try:
            self._reply(turn, terminal)
        except Exception:
            pass

    def _reply(self, turn: Turn, terminal: Final | Error) -> None:
        m, inbound = self.m, turn.inbound
        outcome = "answered" if isinstance(terminal, Final) else terminal.code
        m.messages.labels(inbound.platform, inbound.tenant, outcome).inc()
        m.reply_seconds.labels(inbound.platform).observe(time.perf_counter() - turn.started)
        if turn.first_token_at is not None:
            m.first_token_seconds.labels(inbound.platform).observe(turn.first_token_at - turn.started)
        model = turn.model or "none"
        if turn.usage.prompt_tokens:
            m.tokens.labels(model, inbound.tenant, "in").inc(turn.usage.prompt_tokens)
        if turn.usage.completion_tokens:
            m.tokens.labels(model, inbound.tenant, "out").inc(turn.usage.completion_tokens)
        if turn.usage.estimated:
            m.tokens_estimated.labels(model, inbound.tenant, "in").inc(turn.usage.prompt_tokens)
            m.tokens_estimated.labels(model, inbound.tenant, "out").inc(turn.usage.completion_tokens)
        if turn.usage.cost_usd:
            m.cost.labels(model, inbound.tenant).inc(turn.usage.cost_usd)
        if turn.facts.get("fallbacks_used"):
            m.llm_fallbacks.labels(model).inc()
        for outcome in filter(None, str(turn.facts.get("cache_verify", "")).split(",")):
            m.cache_verify.labels(outcome).inc()  # a cancelled normal path is no stage error (above)
        if isinstance(terminal, Final) and inbound.action is None:
            cache_hit = turn.cached or bool(turn.facts.get("cache_hit"))
            if cache_hit:
                m.cache.labels("hit").inc()
            elif turn.enabled("cache") or "cache_hit" in turn.facts:
                m.cache.labels("miss").inc()
            if not cache_hit and turn.enabled("rag"):
                empty = turn.facts.get("retrieval_empty")
                if empty is None:
                    empty = not turn.passages
                m.retrieval.labels("empty" if empty else "hits").inc()
