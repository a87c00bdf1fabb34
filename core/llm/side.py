"""Model calls beside the answer (rerank, speech-to-text, vision, embeddings): bounded, retried, accounted.

Each goes through `side_call`, never straight to litellm:
  a timeout for the whole call, retries included (litellm's default is 600 s per attempt);
  retries with exponential backoff on transient failures only (timeouts, connection errors, 5xx, 429), none on
  a client error (4xx: retrying cannot help);
  one `llm.side_call` log line per call: kind, model, outcome, attempts, latency, usage and cost when the
  provider reports them (litellm.completion_cost; 0 when unpriced);
  a failure raises `SideCallFailed`, which the caller turns into "this optional step is skipped" (the answer
  comes without it, and the log says why) instead of an apology for the whole message;
  the same Redis circuit breaker as the main answer (`SideGuard.breaker`, one per model name, shared by every
  worker): a model that keeps failing (timeouts, 5xx, 429 forever) is skipped at once instead of hammered, and a
  429's Retry-After keeps it closed that long;
  its tokens and cost charged to the tenant being answered (`pay_as`, set by the limits stage; STT and vision
  pass the tenant themselves): they count in the daily budgets and in `deskmate report` as "side".
The gateway's own side calls (`gateway.complete`: the cache judge, the follow-up rewrite, the memory summary) use
the gateway's breaker already and are charged with `charge_side` the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from core.llm.provider_errors import retry_after_s, status_of

log = structlog.get_logger("core.llm.side")

T = TypeVar("T")
TIMEOUT_S = 20.0
RETRIES = 1
BACKOFF_S = 0.25  # first retry after this, doubling


Charge = Callable[[str, str, str, int, float], Awaitable[None]]  # (platform, tenant, kind, tokens, cost_usd)


@dataclass
class SideGuard:
    """What protects and accounts side calls in one running Deskmate (installed by core/ops/wiring.py)."""

    breaker: Any = None  # core.llm.breaker.CircuitBreaker (the gateway's: the same Redis state)
    charge: Charge | None = None  # core.ops.limits.Limits.charge_side


_GUARDS: list[SideGuard] = []  # the innermost running Deskmate's guard is used (one per process in production)
_PAYER: ContextVar[tuple[str, str] | None] = ContextVar("deskmate_side_payer", default=None)


def install(guard: SideGuard) -> None:
    _GUARDS.append(guard)


def uninstall(guard: SideGuard) -> None:
    with contextlib.suppress(ValueError):
        _GUARDS.remove(guard)


def _guard() -> SideGuard | None:
    return _GUARDS[-1] if _GUARDS else None


def pay_as(platform: str, tenant: str) -> Token[tuple[str, str] | None]:
    """Side calls made from here on in this task (and tasks it starts) are charged to this tenant."""
    return _PAYER.set((platform, tenant))


async def charge_side(kind: str, tokens: int, cost_usd: float, *, platform: str = "", tenant: str = "") -> None:
    """Charge one side call's usage to the tenant being answered (none known: only the log line has it)."""
    guard = _guard()
    payer = (platform, tenant) if platform and tenant else _PAYER.get()
    if guard is None or guard.charge is None or payer is None or not (tokens or cost_usd):
        return
    try:
        await guard.charge(payer[0], payer[1], kind, tokens, cost_usd)
    except Exception as exc:  # a Redis hiccup must not fail the step whose cost it is
        log.warning("side_charge_failed", kind=kind, error=type(exc).__name__)


async def _breaker(op: str, model: str, **kwargs: Any) -> bool:
    """The shared breaker, failing open: without Redis a side call is tried (its own timeout still bounds it)."""
    guard = _guard()
    if guard is None or guard.breaker is None:
        return True
    try:
        result = await getattr(guard.breaker, op)(model, **kwargs)
    except Exception as exc:
        log.warning("side_breaker_unavailable", model=model, error=type(exc).__name__)
        return True
    return bool(result) if op == "allow" else True


class BreakerOpen(Exception):
    """The model's breaker is open (it kept failing, or asked us to wait): not called at all."""


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
    return status is None or status in (408, 429) or status >= 500


def _tokens(response: Any) -> int:
    usage = getattr(response, "usage", None)
    total = getattr(usage, "total_tokens", None)
    if total is None:
        total = (getattr(usage, "prompt_tokens", 0) or 0) + (getattr(usage, "completion_tokens", 0) or 0)
    try:
        return int(total or 0)
    except (TypeError, ValueError):
        return 0


def _cost(response: Any, model: str) -> float:
    try:
        import litellm

        return float(litellm.completion_cost(completion_response=response, model=model) or 0.0)
    except Exception:  # unpriced model or a response litellm cannot price
        return 0.0


async def side_call(kind: str, model: str, call: Callable[[], Awaitable[T]], *, timeout_s: float = TIMEOUT_S,
                    retries: int = RETRIES, request_id: str = "", tenant: str = "", platform: str = "",
                    wrap: bool = True) -> T:
    """Run `call` (a litellm coroutine factory) with a deadline and retries; raise SideCallFailed on failure
    (`wrap=False`: the original exception, for a step that is not optional, e.g. embedding a query)."""
    started = time.perf_counter()
    attempts = 0
    error = ""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if not await _breaker("allow", model):
                    raise BreakerOpen(model)
                attempts += 1
                try:
                    response = await call()
                    break
                except asyncio.CancelledError:
                    await _breaker("release_trial", model)
                    raise
                except Exception as exc:
                    error = type(exc).__name__
                    if _transient(exc):  # the model's health: counted in the breaker every worker shares
                        wait = retry_after_s(exc) if status_of(exc) == 429 else None
                        await _breaker("record_failure", model, retry_after_s=wait)
                    else:
                        await _breaker("release_trial", model)
                    if attempts > retries or not _transient(exc):
                        raise
                    await asyncio.sleep(BACKOFF_S * 2 ** (attempts - 1))
    except Exception as exc:
        if isinstance(exc, TimeoutError):  # the whole step timed out: that attempt was a failure too
            await _breaker("record_failure", model)
        outcome = "timeout" if isinstance(exc, TimeoutError) else "skipped_open" if isinstance(
            exc, BreakerOpen) else "error"
        log.warning("llm.side_call", kind=kind, model=model, outcome=outcome, attempts=attempts,
                    error=error or type(exc).__name__, status=status_of(exc), request_id=request_id, tenant=tenant,
                    latency_ms=round((time.perf_counter() - started) * 1000, 1))
        if not wrap:
            raise
        raise SideCallFailed(kind, outcome if outcome == "timeout" else error or type(exc).__name__) from exc
    await _breaker("record_success", model)
    usage = getattr(response, "usage", None)
    cost = _cost(response, model)
    log.info("llm.side_call", kind=kind, model=model, outcome="ok", attempts=attempts, request_id=request_id,
             tenant=tenant, latency_ms=round((time.perf_counter() - started) * 1000, 1),
             prompt_tokens=getattr(usage, "prompt_tokens", None), cost_usd=round(cost, 6))
    await charge_side(kind, _tokens(response), cost, platform=platform, tenant=tenant)
    return response
