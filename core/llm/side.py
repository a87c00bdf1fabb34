"""Model calls beside the answer (rerank, speech-to-text, vision, embeddings): bounded, retried, accounted.

Each goes through `side_call`, never straight to litellm:
  a timeout for the whole call, retries included (litellm's default is 600 s per attempt);
  retries with exponential backoff on transient failures only (timeouts, connection errors, 5xx, 429), none on
  a client error (4xx: retrying cannot help);
  one `llm.side_call` log line per call: kind, model, outcome, attempts, latency, usage and cost when the
  provider reports them (litellm.completion_cost; 0 when unpriced);
  a failure raises `SideCallFailed`, which the caller turns into "this optional step is skipped" (the answer
  comes without it, and the log says why) instead of an apology for the whole message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from core.llm.provider_errors import status_of

log = structlog.get_logger("core.llm.side")

T = TypeVar("T")
TIMEOUT_S = 20.0
RETRIES = 1
BACKOFF_S = 0.25  # first retry after this, doubling


class SideCallFailed(Exception):
    """An optional model step failed; `kind` says which, `reason` why (no user text)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return True
    status = status_of(exc)
    return status is None or status == 429 or status >= 500


def _cost(response: Any, model: str) -> float:
    try:
        import litellm

        return float(litellm.completion_cost(completion_response=response, model=model) or 0.0)
    except Exception:  # unpriced model or a response litellm cannot price
        return 0.0


async def side_call(kind: str, model: str, call: Callable[[], Awaitable[T]], *, timeout_s: float = TIMEOUT_S,
                    retries: int = RETRIES, request_id: str = "", tenant: str = "", wrap: bool = True) -> T:
    """Run `call` (a litellm coroutine factory) with a deadline and retries; raise SideCallFailed on failure
    (`wrap=False`: the original exception, for a step that is not optional, e.g. embedding a query)."""
    started = time.perf_counter()
    attempts = 0
    error = ""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                attempts += 1
                try:
                    response = await call()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = type(exc).__name__
                    if attempts > retries or not _transient(exc):
                        raise
                    await asyncio.sleep(BACKOFF_S * 2 ** (attempts - 1))
    except Exception as exc:
        outcome = "timeout" if isinstance(exc, TimeoutError) else "error"
        log.warning("llm.side_call", kind=kind, model=model, outcome=outcome, attempts=attempts,
                    error=error or type(exc).__name__, status=status_of(exc), request_id=request_id, tenant=tenant,
                    latency_ms=round((time.perf_counter() - started) * 1000, 1))
        if not wrap:
            raise
        raise SideCallFailed(kind, outcome if outcome == "timeout" else error or type(exc).__name__) from exc
    usage = getattr(response, "usage", None)
    log.info("llm.side_call", kind=kind, model=model, outcome="ok", attempts=attempts, request_id=request_id,
             tenant=tenant, latency_ms=round((time.perf_counter() - started) * 1000, 1),
             prompt_tokens=getattr(usage, "prompt_tokens", None), cost_usd=round(_cost(response, model), 6))
    return response
