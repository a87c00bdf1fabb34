"""LLM call telemetry from litellm's callback hooks: a metric and a span per provider attempt.

litellm calls these for every attempt the Router makes (retries included), streaming or not. Only
the model name, timings, status and error type are read: never the messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from core.ops import tracing
from core.ops.metrics import Metrics

MAX_OPEN_CALLS = 10_000


def _seconds(start: Any, end: Any) -> float:
    try:
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime):
            return max(0.0, (end - start).total_seconds())
        return max(0.0, float(end) - float(start))
    except Exception:
        return 0.0


def _ns(moment: Any) -> int | None:
    return int(moment.timestamp() * 1e9) if isinstance(moment, dt.datetime) else None


def _model(kwargs: dict[str, Any]) -> str:
    params = kwargs.get("litellm_params") or {}
    provider = params.get("custom_llm_provider") or kwargs.get("custom_llm_provider")
    model = str(kwargs.get("model") or "unknown")
    if provider and not model.startswith(f"{provider}/"):
        return f"{provider}/{model}"
    return model


def make_callback(metrics: Metrics) -> Any:
    """A litellm CustomLogger feeding `metrics` and the current tracer (litellm imported lazily)."""
    from litellm.integrations.custom_logger import CustomLogger

    parents: dict[str, Any] = {}  # litellm call id -> the span context the call was made in

    class DeskmateLLMTelemetry(CustomLogger):  # type: ignore[misc]
        def _record(self, kwargs: dict[str, Any], start: Any, end: Any, error: BaseException | None) -> None:
            model = _model(kwargs)
            kind = "embedding" if kwargs.get("call_type") in ("embedding", "aembedding") else "completion"
            outcome = "ok" if error is None else "error"
            metrics.llm_calls.labels(model, outcome).observe(_seconds(start, end))
            if error is not None:
                metrics.llm_errors.labels(model, type(error).__name__).inc()
            tracer = tracing.tracer()
            if isinstance(tracer, trace.NoOpTracer):
                parents.pop(kwargs.get("litellm_call_id") or "", None)
                return
            parent = parents.pop(kwargs.get("litellm_call_id") or "", None)
            span = tracer.start_span(f"llm.{kind}", context=parent, kind=trace.SpanKind.CLIENT, start_time=_ns(start),
                                     attributes={"llm.model": model, "llm.stream": bool(kwargs.get("stream"))})
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                status = getattr(error, "status_code", None)
                if isinstance(status, int):
                    span.set_attribute("http.response.status_code", status)
            span.end(end_time=_ns(end))

        def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
            # Called in the caller's context (inside the generate stage's span); the result hooks are not.
            try:
                call_id = kwargs.get("litellm_call_id")
                span = trace.get_current_span()
                if call_id and span.get_span_context().is_valid:
                    parents[call_id] = trace.set_span_in_context(span)
                    while len(parents) > MAX_OPEN_CALLS:
                        parents.pop(next(iter(parents)))
            except Exception:
                pass

        async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            try:
                self._record(kwargs, start_time, end_time, None)
            except Exception:  # telemetry never breaks a call
                pass

        async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                          end_time: Any) -> None:
            try:
                error = kwargs.get("exception") or RuntimeError("llm call failed")
                self._record(kwargs, start_time, end_time, error)
            except Exception:
                pass

    return DeskmateLLMTelemetry()


def install_callback(callback: Any) -> None:
    import litellm

    litellm.callbacks.append(callback)


def remove_callback(callback: Any) -> None:
    import litellm

    for name in ("callbacks", "_async_success_callback", "_async_failure_callback", "success_callback",
                 "failure_callback"):
        lst = getattr(litellm, name, None)
        if isinstance(lst, list):
            while callback in lst:
                lst.remove(callback)
