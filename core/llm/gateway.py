"""The LLM gateway on litellm: an ordered chain of endpoints, litellm's retries, our Redis circuit breaker.

For each endpoint in `settings.chain()` (with its capabilities, core/llm/capabilities.py):
  a key it needs but nobody configured -> skip at once (litellm would refuse before sending; not a health fault);
  breaker open -> skip at once;
  tool schemas only to a model that takes them; its own max_tokens and first-token timeout;
  litellm Router call (one deployment per endpoint; the Router is the only retry loop: backoff, Retry-After,
  no retries for 4xx or 429, which falls back instead);
  first-token timeout (a provider that accepts and hangs), idle timeout between chunks (timeout_s);
  failure before any text was yielded -> breaker failure, next endpoint;
  failure after text was yielded -> StreamInterrupted (text cannot be taken back).
One budget (`answer_deadline_s`, default: the primary's first-token timeout + 2 s) is shared by the whole
chain to start an answer: each model waits for its first token at most what is left of it, so with every model
hanging the user gets the retrieval-only answer after the budget, not after chain length x timeout.
No model could start -> ModelUnavailable.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.background import Background
from core.errors import ModelUnavailable, StreamInterrupted
from core.llm.assemble import StreamAssembler, close_stream, first_chunks, read_out
from core.llm.breaker import CircuitBreaker
from core.llm.capabilities import Capabilities, missing_key, resolve
from core.llm.completions import completion_of, streamed_completion
from core.llm.deadline import (
    FALLBACK_RESERVE_S,
    DeadlineSpent,
    FirstTokenTimeout,
    IdleTimeout,
    budget_start,
    mark_answered,
)
from core.llm.health import ModelHealth, config_problem
from core.llm.provider_errors import retry_after_s, status_of
from core.llm.router import build_router, check_routes, direct_completion, endpoint_params, warm_litellm
from core.llm.settings import LLMSettings, ModelEndpoint
from core.llm.side import charge_side
from core.llm.types import Completion, TextChunk
from core.models import Usage

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
os.environ.setdefault("LITELLM_TELEMETRY", "False")

log = structlog.get_logger("core.llm.gateway")

# Client errors that say nothing about the model's health: fall back, but do not count them in the breaker.
_NOT_HEALTH = {400, 404, 413, 422}


DEADLINE_SLACK_S = 2.0  # the default budget: the primary's first-token timeout + this
SETTLE_AFTER_S = 0.1  # complete(settle_later=True): the bookkeeping starts after what the user waits for


class LiteLLMGateway:
    def __init__(self, settings: LLMSettings, redis: aioredis.Redis) -> None:
        self.settings = settings
        self._chain = settings.chain()
        self.capabilities = [resolve(ep, settings) for ep in self._chain]
        per_call = max([settings.timeout_s] + [e.timeout_s or 0 for e in self._chain]
                       + [c.first_token_timeout_s for c in self.capabilities])
        self.breaker = CircuitBreaker(
            redis,
            failures=settings.breaker_failures,
            reset_s=settings.breaker_reset_s,
            trial_lease_s=per_call * (settings.num_retries + 1) + 10,
        )
        self._router: Any = None
        self._params: list[dict[str, Any]] = []  # per chain position, for direct calls (complete(direct=True))
        self._settling = Background()  # complete(settle_later=True) bookkeeping
        self.health = ModelHealth()  # configuration problems (bad key, model string...), per model
        self._unroutable: set[int] = set()  # chain positions litellm cannot route (never tried)

    # -- chain and router

    @property
    def available(self) -> bool:
        return bool(self._chain)

    @property
    def takes_tools(self) -> bool:
        """Whether any model in the chain is sent tool schemas (the others get the same request without them)."""
        return any(c.tools == "native" for c in self.capabilities)

    @property
    def context_window(self) -> int | None:
        """The smallest known input window in the chain (None: none known), so a prompt fits every fallback."""
        known = [c.context_window for c in self.capabilities if c.context_window]
        return min(known) if known else None

    @property
    def max_tokens(self) -> int:
        return max((c.max_tokens for c in self.capabilities), default=self.settings.max_tokens)

    @property
    def models(self) -> list[str]:
        """Breaker names of the chain, in order (for metrics: `await gateway.breaker.state(name)`)."""
        return [self._name(i) for i in range(len(self._chain))]

    def _name(self, index: int) -> str:
        ep = self._chain[index]
        if sum(1 for e in self._chain if e.model == ep.model) == 1:
            return ep.model
        return f"{ep.model}@{ep.api_base or 'default'}"

    @property
    def answer_deadline_s(self) -> float:
        """The budget the whole chain shares to start one answer (LLMSettings.answer_deadline_s)."""
        if self.settings.answer_deadline_s is not None:
            return self.settings.answer_deadline_s
        if not self.capabilities:  # no model: nothing waits (retrieval-only answers)
            return DEADLINE_SLACK_S
        return self.capabilities[0].first_token_timeout_s + DEADLINE_SLACK_S

    def _timeout(self, ep: ModelEndpoint) -> float:
        return ep.timeout_s or self.settings.timeout_s

    def _caps(self, index: int) -> Capabilities:
        return self.capabilities[index]

    def _get_router(self) -> Any:
        if self._router is None:
            self._router = build_router(self._chain, self.capabilities, self.settings.num_retries,
                                        self._name, self._timeout, self.health, self._unroutable)
        return self._router

    def _direct_params(self, index: int) -> dict[str, Any]:
        """The endpoint's litellm parameters for a direct call (routes checked once, as the Router's are)."""
        if not self._params:
            check_routes(self._chain, self._name, self.health, self._unroutable)
            self._params = [endpoint_params(ep, caps, self._timeout)
                            for ep, caps in zip(self._chain, self.capabilities, strict=True)]
        return self._params[index]

    async def _call(self, index: int, messages: Sequence[dict[str, Any]], direct: bool = False, **kwargs: Any) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if direct:
            return await direct_completion(self._direct_params(index), list(messages),
                                           temperature=self.settings.temperature, **kwargs)
        return await self._get_router().acompletion(
            model=f"deskmate-{index}",
            messages=list(messages),
            temperature=self.settings.temperature,
            **kwargs,
        )

    async def warm_up(self) -> None:
        """Import litellm and build the Router off the event loop (at startup, not on the first user's message)."""
        if self._chain:
            await asyncio.to_thread(self._warm)

    def _warm(self) -> None:
        self._get_router()
        warm_litellm()

    async def settled(self) -> None:
        """Wait for the bookkeeping of every `complete(settle_later=True)` made so far."""
        await self._settling.drain()

    async def aclose(self) -> None:
        """Settle what is still being settled; unhook the Router from litellm's global callback lists (one Router
        per gateway)."""
        await self.settled()
        if self._router is not None:
            self._router.discard()
            self._router = None

    # -- breaker bookkeeping and logs

    def ready(self) -> tuple[bool, str]:
        """Not ready while a configured model has a configuration problem (the reason says which and why)."""
        return self.health.ok, self.health.summary()

    async def _failed(self, name: str, exc: BaseException, request_id: str, started: float, outcome: str) -> None:
        status = status_of(exc)
        wait = retry_after_s(exc) if status == 429 else None
        self.health.failed(name, exc)
        problem = config_problem(exc)
        if problem is not None:  # loud: it will not heal by waiting (core/llm/health.py)
            self.health.record(name, problem)
            await self.breaker.release_trial(name)
            log.error("llm.config_error", request_id=request_id, model=name, error=type(exc).__name__,
                      problem=problem, latency_ms=round((time.perf_counter() - started) * 1000, 1))
            return
        if status in _NOT_HEALTH:
            await self.breaker.release_trial(name)
        else:
            await self.breaker.record_failure(name, retry_after_s=wait)
        log.warning("llm.attempt", request_id=request_id, model=name, outcome=outcome,
                    latency_ms=round((time.perf_counter() - started) * 1000, 1), error=type(exc).__name__,
                    status=status, retry_after_s=wait)

    @staticmethod
    def _log_ok(name: str, request_id: str, started: float, **extra: Any) -> None:
        log.info("llm.attempt", request_id=request_id, model=name, outcome="ok",
                 latency_ms=round((time.perf_counter() - started) * 1000, 1), **extra)

    def _models(self) -> list[ModelEndpoint]:
        """The chain, primary first; none configured is ModelUnavailable (the engine answers from the KB)."""
        if not self._chain:
            raise ModelUnavailable("no model configured")
        return self._chain

    async def _closed_breaker(self, name: str, request_id: str, index: int = 0) -> bool:
        """Whether `name` may be tried now; a model whose breaker is open is skipped at once (and logged), one
        litellm cannot route is never tried, and neither is one that needs a key nobody configured (litellm would
        refuse it before sending: a configuration problem, not a health fault for the breaker)."""
        if index in self._unroutable:
            return False
        if missing_key(self._chain[index], self._caps(index)):
            self.health.record(name, "no API key: set api_key for this model or the provider's key variable")
            log.warning("llm.attempt", request_id=request_id, model=name, outcome="missing_key", latency_ms=0.0)
            return False
        if await self.breaker.allow(name):
            return True
        log.info("llm.attempt", request_id=request_id, model=name, outcome="skipped_open", latency_ms=0.0)
        return False

    # -- the Gateway protocol

    async def stream(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        request_id: str = "",
    ) -> AsyncIterator[TextChunk | Completion]:
        models = self._models()
        self._get_router()  # built before any timer starts (first use imports litellm's Router)
        # One budget for the whole chain, ending early enough for the fallback to be shown by the deadline.
        deadline = budget_start() + self.answer_deadline_s - FALLBACK_RESERVE_S
        for index, ep in enumerate(models):
            name = self._name(index)
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                log.warning("llm.attempt", request_id=request_id, model=name, outcome="deadline_spent",
                            latency_ms=0.0)
                continue
            if not await self._closed_breaker(name, request_id, index):
                continue
            caps = self._caps(index)
            wait = min(caps.first_token_timeout_s, remaining)
            offer = list(tools) if tools and caps.tools == "native" else None
            fallbacks = index  # every model before this one was skipped or failed
            started = time.perf_counter()
            idle = self._timeout(ep)
            yielded_text = False
            parts = StreamAssembler()
            response: Any = None
            try:
                try:
                    async with asyncio.timeout(wait):
                        response = await self._call(
                            index,
                            messages,
                            stream=True,
                            stream_options={"include_usage": True},
                            tools=offer,
                            max_tokens=caps.max_tokens,
                        )
                        chunks = aiter(response)
                        pending = await first_chunks(chunks, parts)
                except TimeoutError as exc:
                    if wait < caps.first_token_timeout_s:
                        raise DeadlineSpent() from exc
                    raise FirstTokenTimeout() from exc
                mark_answered()  # a model answers: later requests of this answer get their own budget
                for text in pending:
                    yielded_text = True
                    yield TextChunk(text)
                while pending is not None:
                    try:
                        async with asyncio.timeout(idle):  # a timer per chunk, not a task (wait_for) per chunk
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    except TimeoutError as exc:
                        raise IdleTimeout() from exc
                    text = parts.add(chunk)
                    if text:
                        yielded_text = True
                        yield TextChunk(text)
                    if parts.finish_reason and getattr(chunk, "usage", None) is not None:
                        # The answer and its usage are complete: litellm's end-of-stream work (20-30 ms, and its
                        # success callbacks: telemetry) runs behind the final message, not in front of it.
                        self._settling.spawn(read_out(chunks, response, idle), "llm-stream-end", SETTLE_AFTER_S)
                        break
            except (GeneratorExit, asyncio.CancelledError):
                await close_stream(response)
                await self.breaker.release_trial(name)
                raise
            except DeadlineSpent:
                await close_stream(response)
                await self.breaker.release_trial(name)
                log.warning("llm.attempt", request_id=request_id, model=name, outcome="deadline_spent",
                            latency_ms=round((time.perf_counter() - started) * 1000, 1))
                continue
            except Exception as exc:
                await close_stream(response)
                outcome = {FirstTokenTimeout: "first_token_timeout", IdleTimeout: "idle_timeout"}.get(
                    type(exc), "interrupted" if yielded_text else "error"
                )
                await self._failed(name, exc, request_id, started, outcome)
                if yielded_text:
                    raise StreamInterrupted(f"{name} stopped mid-answer: {type(exc).__name__}") from exc
                continue
            await self.breaker.record_success(name)
            self.health.clear(name)
            completion = streamed_completion(parts, messages, ep, fallbacks, offer)
            self._log_ok(
                name,
                request_id,
                started,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                usage_estimated=completion.usage.estimated,
                tools_sent=len(offer or ()),
                tool_calls=len(completion.tool_calls),
                fallbacks=fallbacks,
            )
            yield completion
            return
        raise ModelUnavailable(f"all {len(self._chain)} models failed or are circuit-broken")

    async def complete(
        self, messages: Sequence[dict[str, Any]], *, max_tokens: int | None = None, request_id: str = "",
        kind: str = "side", settle_later: bool = False, direct: bool = False,
    ) -> Completion:
        """One whole completion: only side calls use it (`kind`: cache_judge, followup, summary...), charged as
        side usage to the tenant being answered (core/llm/side.py). `settle_later`: the caller needs only the
        text at once (the cache judge, which a user waits on): the breaker, the cost and the charge are settled
        in a task started shortly after (awaited by `aclose`), and the Completion returned carries no usage.
        `direct`: one attempt per model through `litellm.acompletion`, no Router and no retries (core/llm/router.py;
        the judge's own timeout bounds it), the next model on a failure."""
        models = self._models()
        if direct:
            self._direct_params(0)  # models litellm cannot route are known (and skipped) before the first attempt
        for index, ep in enumerate(models):
            name = self._name(index)
            if not await self._closed_breaker(name, request_id, index):
                continue
            fallbacks = index
            started = time.perf_counter()
            try:
                response = await self._call(index, messages, direct,
                                            max_tokens=max_tokens or self._caps(index).max_tokens)
            except asyncio.CancelledError:
                await self.breaker.release_trial(name)
                raise
            except Exception as exc:
                await self._failed(name, exc, request_id, started, "error")
                continue
            if settle_later:
                self._settling.spawn(self._settle(name, ep, response, fallbacks, messages, request_id, started,
                                                  kind, quiet=True), name=f"llm-settle:{kind}", after_s=SETTLE_AFTER_S)
                return Completion(model=ep.model, text=response.choices[0].message.content or "", usage=Usage(),
                                  finish_reason=response.choices[0].finish_reason, fallbacks_used=fallbacks)
            settled = await self._settle(name, ep, response, fallbacks, messages, request_id, started, kind)
            assert settled is not None
            return settled
        raise ModelUnavailable(f"all {len(self._chain)} models failed or are circuit-broken")

    async def _settle(self, name: str, ep: ModelEndpoint, response: Any, fallbacks: int,
                      messages: Sequence[dict[str, Any]], request_id: str, started: float, kind: str,
                      quiet: bool = False) -> Completion | None:
        """A whole completion's bookkeeping: the breaker, the cost, the log line, the tenant's side charge."""
        try:
            await self.breaker.record_success(name)
            self.health.clear(name)
            completion = completion_of(response, ep, fallbacks, messages)
            self._log_ok(
                name,
                request_id,
                started,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                usage_estimated=completion.usage.estimated,
                fallbacks=fallbacks,
                kind=kind,
            )
            usage = completion.usage
            await charge_side(kind, usage.prompt_tokens + usage.completion_tokens, usage.cost_usd)
            return completion
        except Exception as exc:
            log.warning("llm_settle_failed", model=name, kind=kind, request_id=request_id, error=type(exc).__name__)
            if quiet:  # in the background: logged, never an unretrieved task exception
                return None
            raise

