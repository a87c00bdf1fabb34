"""OpenTelemetry traces: one trace per message, a span per engine stage and per external call.

Tracing is off unless `DESKMATE_OTEL__ENDPOINT` is set; spans then go over OTLP/HTTP through a
batch processor. The tracer provider belongs to the running Deskmate (not the global one), so tests
and several runtimes in one process do not share exporters. Span attributes are ids, names and
numbers, never message text.

Other parts wrap their own outside calls with `external_span("vector_search", ...)`: a no-op when
tracing is off, a child of the current stage span otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from core.models import Error, Final
from core.ops.settings import OtelSettings
from core.turn import Turn

_tracer: Tracer = trace.NoOpTracer()


def build_provider(settings: OtelSettings, processor: SpanProcessor | None = None) -> TracerProvider | None:
    """A provider exporting to the configured endpoint (or to `processor`, for tests); None when off."""
    if processor is None:
        if not settings.endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(processor)
    return provider


def install(provider: TracerProvider | None) -> Tracer:
    """Make `provider`'s tracer the one `external_span` and the observers use (NoOp when None)."""
    global _tracer
    _tracer = provider.get_tracer("deskmate") if provider is not None else trace.NoOpTracer()
    return _tracer


def tracer() -> Tracer:
    return _tracer


@contextmanager
def external_span(name: str, **attributes: Any) -> Iterator[Span]:
    """A span for one call outside the process (LLM, embeddings, vector search, platform API)."""
    with _tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=_clean(attributes)) as span:
        yield span


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if isinstance(v, (str, bool, int, float)) and v is not None}


class _Open:
    __slots__ = ("root", "stack")

    def __init__(self, root: Span) -> None:
        self.root = root
        self.stack: list[tuple[str, Span, object]] = []


class OtelObserver:
    """The engine Observer that opens a `message` span per turn and a child span per stage.

    The stage span is made current while the stage runs (and everything it calls), so spans for
    outside calls made inside a stage nest under it.
    """

    def __init__(self, tracer_: Tracer) -> None:
        self.tracer = tracer_
        self.open: dict[str, _Open] = {}

    def stage_started(self, turn: Turn, stage: str) -> None:
        try:
            state = self.open.get(turn.reply_id)
            if state is None:
                inbound = turn.inbound
                root = self.tracer.start_span("message", context=otel_context.Context(), attributes=_clean({
                    "deskmate.platform": inbound.platform, "deskmate.tenant": inbound.tenant,
                    "deskmate.bot": inbound.bot, "deskmate.message_id": inbound.message_id,
                    "deskmate.reply_id": turn.reply_id, "deskmate.action": bool(inbound.action),
                }))
                state = self.open[turn.reply_id] = _Open(root)
            parent = state.stack[-1][1] if state.stack else state.root
            span = self.tracer.start_span(f"stage.{stage}", context=trace.set_span_in_context(parent))
            token = otel_context.attach(trace.set_span_in_context(span))
            state.stack.append((stage, span, token))
        except Exception:  # observers never raise
            pass

    def stage_finished(self, turn: Turn, stage: str, self_s: float, error: BaseException | None) -> None:
        try:
            state = self.open.get(turn.reply_id)
            if state is None:
                return
            while state.stack:
                name, span, token = state.stack.pop()
                _detach(token)
                if name == stage:
                    span.set_attribute("deskmate.self_ms", round(self_s * 1000, 3))
                    if error is not None and not isinstance(error, GeneratorExit):
                        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                    span.end()
                    return
                span.end()
        except Exception:
            pass

    def reply_finished(self, turn: Turn, terminal: Final | Error) -> None:
        try:
            state = self.open.pop(turn.reply_id, None)
            if state is None:
                return
            while state.stack:
                _, span, token = state.stack.pop()
                _detach(token)
                span.end()
            root = state.root
            root.set_attributes(_clean({
                "deskmate.outcome": "answered" if isinstance(terminal, Final) else terminal.code,
                "deskmate.model": turn.model, "deskmate.prompt": turn.prompt_name,
                "deskmate.prompt_version": turn.prompt_version, "deskmate.cached": turn.cached,
                "deskmate.prompt_tokens": turn.usage.prompt_tokens,
                "deskmate.completion_tokens": turn.usage.completion_tokens,
                "deskmate.cost_usd": turn.usage.cost_usd,
            }))
            if isinstance(terminal, Error):
                root.set_status(Status(StatusCode.ERROR, terminal.code))
            root.end()
        except Exception:
            pass


def _detach(token: object) -> None:
    """Undo an attach; quietly skip when the stream was closed from another context (e.g. garbage collection)."""
    try:
        token.var.reset(token)  # type: ignore[attr-defined]  # the SDK's runtime context is a ContextVar
    except Exception:
        pass
