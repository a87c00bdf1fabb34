"""The LLM gateway on litellm: an ordered chain of endpoints, litellm's retries, our Redis circuit breaker.

For each endpoint in `settings.chain()`:
  breaker open -> skip at once;
  litellm Router call (one deployment per endpoint; the Router is the only retry loop: backoff, Retry-After,
  no retries for 4xx or 429, which falls back instead);
  first-token timeout (a provider that accepts and hangs), idle timeout between chunks (timeout_s);
  failure before any text was yielded -> breaker failure, next endpoint;
  failure after text was yielded -> StreamInterrupted (text cannot be taken back).
No model could start -> ModelUnavailable.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.errors import ModelUnavailable, StreamInterrupted
from core.llm.assemble import StreamAssembler
from core.llm.breaker import CircuitBreaker
from core.llm.health import ModelHealth, config_problem
from core.llm.settings import LLMSettings, ModelEndpoint
from core.llm.types import Completion, TextChunk, ToolCallRequest
from core.models import Usage

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
os.environ.setdefault("LITELLM_TELEMETRY", "False")

log = structlog.get_logger("core.llm.gateway")

# Client errors that say nothing about the model's health: fall back, but do not count them in the breaker.
_NOT_HEALTH = {400, 404, 413, 422}


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.turn_off_message_logging = True
    litellm.disable_streaming_logging = True  # no per-chunk logging callbacks: we log one event per attempt
    return litellm


class _FirstTokenTimeout(Exception):
    pass


class _IdleTimeout(Exception):
    pass


def retry_after_s(exc: BaseException) -> float | None:
    """The provider's Retry-After (retry-after-ms, then retry-after in seconds or as an HTTP date), if any."""
    headers = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            return max(0.0, email.utils.mktime_tz(parsed) - time.time()) if parsed else None
    except (TypeError, ValueError):
        return None


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


class LiteLLMGateway:
    def __init__(self, settings: LLMSettings, redis: aioredis.Redis) -> None:
        self.settings = settings
        self._chain = settings.chain()
        per_call = max([settings.timeout_s, settings.first_token_timeout_s] + [e.timeout_s or 0 for e in self._chain])
        self.breaker = CircuitBreaker(
            redis,
            failures=settings.breaker_failures,
            reset_s=settings.breaker_reset_s,
            trial_lease_s=per_call * (settings.num_retries + 1) + 10,
        )
        self._router: Any = None
        self.health = ModelHealth()  # configuration problems (bad key, model string...), per model
        self._unroutable: set[int] = set()  # chain positions litellm cannot route (never tried)

    # -- chain and router

    @property
    def available(self) -> bool:
        return bool(self._chain)

    @property
    def models(self) -> list[str]:
        """Breaker names of the chain, in order (for metrics: `await gateway.breaker.state(name)`)."""
        return [self._name(i) for i in range(len(self._chain))]

    def _name(self, index: int) -> str:
        ep = self._chain[index]
        if sum(1 for e in self._chain if e.model == ep.model) == 1:
            return ep.model
        return f"{ep.model}@{ep.api_base or 'default'}"

    def _name_index(self, name: str) -> int:
        return self.models.index(name)

    def _timeout(self, ep: ModelEndpoint) -> float:
        return ep.timeout_s or self.settings.timeout_s

    def _get_router(self) -> Any:
        if self._router is None:
            litellm = _litellm()
            from litellm.types.router import RetryPolicy

            retries = self.settings.num_retries
            model_list = []
            for i, ep in enumerate(self._chain):
                try:  # a model string litellm cannot route is a configuration problem, named, never sent
                    litellm.get_llm_provider(model=ep.model, api_base=ep.api_base)
                except Exception as exc:
                    problem = config_problem(exc) or f"{type(exc).__name__}: {exc}"[:300]
                    self.health.record(self._name(i), problem)
                    self._unroutable.add(i)
                    log.error("llm.config_error", model=self._name(i), error=type(exc).__name__, problem=problem)
                    continue
                params: dict[str, Any] = {"model": ep.model, "timeout": self._timeout(ep)}
                if ep.api_base:
                    params["api_base"] = ep.api_base
                if ep.api_key is not None:
                    params["api_key"] = ep.api_key.get_secret_value()
                model_list.append({"model_name": f"deskmate-{i}", "litellm_params": params})
            # The Router is the one retry loop (the SDK clients get max_retries=0). Rate limits and client
            # errors are not retried on the same model: the gateway falls back to the next one instead.
            policy = RetryPolicy(
                BadRequestErrorRetries=0,
                AuthenticationErrorRetries=0,
                NotFoundErrorRetries=0,
                ContentPolicyViolationErrorRetries=0,
                RateLimitErrorRetries=0,
                TimeoutErrorRetries=retries,
                InternalServerErrorRetries=retries,
                ServiceUnavailableErrorRetries=retries,
                DefaultRetries=retries,
            )
            self._router = litellm.Router(
                model_list=model_list, num_retries=retries, retry_policy=policy, disable_cooldowns=True
            )
        return self._router

    async def _call(self, index: int, messages: Sequence[dict[str, Any]], **kwargs: Any) -> Any:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
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
        litellm = _litellm()
        self._get_router()
        # litellm and the openai client import most provider code lazily on the first call (~1-3 s, 500+
        # modules); pay that here. The client below is never used to send anything.
        import openai

        client = openai.AsyncOpenAI(api_key="warm-up", base_url="http://127.0.0.1:9")
        _ = (client.chat.completions, client.embeddings)
        litellm.token_counter(model="gpt-4o-mini", text="warm up")  # loads the tokenizer used for accounting

        async def mock_stream() -> None:  # litellm's own logging and streaming code, no request sent
            stream = await litellm.acompletion(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "warm up"}], mock_response="ok", stream=True
            )
            chunks = [chunk async for chunk in stream]
            litellm.completion_cost(completion_response=litellm.stream_chunk_builder(chunks), model="gpt-4o-mini")

        asyncio.run(mock_stream())

    async def aclose(self) -> None:
        """Unhook the Router from litellm's global callback lists (one Router per gateway)."""
        if self._router is not None:
            self._router.discard()
            self._router = None

    # -- accounting

    @staticmethod
    def _cost(ep: ModelEndpoint, prompt: int, completion: int) -> float:
        try:
            parts = _litellm().cost_per_token(model=ep.model, prompt_tokens=prompt, completion_tokens=completion)
            return float(sum(parts))
        except Exception:  # no price for this model (local server, custom name): cost unknown, not an error
            return 0.0

    def _usage(self, response: Any, ep: ModelEndpoint) -> Usage:
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        return Usage(prompt_tokens=prompt, completion_tokens=completion, cost_usd=self._cost(ep, prompt, completion))

    @staticmethod
    def _tool_calls(message: Any) -> tuple[ToolCallRequest, ...]:
        calls = getattr(message, "tool_calls", None) or []
        return tuple(
            ToolCallRequest(call_id=c.id or "", name=c.function.name or "", arguments_json=c.function.arguments or "")
            for c in calls
        )

    def _completion(self, response: Any, ep: ModelEndpoint, fallbacks: int) -> Completion:
        choice = response.choices[0]
        return Completion(
            model=ep.model,
            text=choice.message.content or "",
            usage=self._usage(response, ep),
            tool_calls=self._tool_calls(choice.message),
            finish_reason=choice.finish_reason,
            fallbacks_used=fallbacks,
        )

    def _streamed(self, parts: StreamAssembler, messages: Sequence[dict[str, Any]], ep: ModelEndpoint,
                  fallbacks: int) -> Completion:
        """The Completion of a stream; tokens counted by litellm when the provider sent no usage."""
        text = parts.text
        prompt, completion = parts.prompt_tokens, parts.completion_tokens
        if prompt is None or completion is None:
            litellm = _litellm()
            prompt = litellm.token_counter(model=ep.model, messages=list(messages))
            completion = litellm.token_counter(model=ep.model, text=text) if text else 0
        return Completion(
            model=ep.model,
            text=text,
            usage=Usage(prompt_tokens=prompt, completion_tokens=completion,
                        cost_usd=self._cost(ep, prompt, completion)),
            tool_calls=parts.tool_calls(),
            finish_reason=parts.finish_reason,
            fallbacks_used=fallbacks,
        )

    # -- breaker bookkeeping and logs

    def ready(self) -> tuple[bool, str]:
        """Not ready while a configured model has a configuration problem (the reason says which and why)."""
        return self.health.ok, self.health.summary()

    async def _failed(self, name: str, exc: BaseException, request_id: str, started: float, outcome: str) -> None:
        status = _status(exc)
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
        log.warning(
            "llm.attempt",
            request_id=request_id,
            model=name,
            outcome=outcome,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            error=type(exc).__name__,
            status=status,
            retry_after_s=wait,
        )

    @staticmethod
    def _log_ok(name: str, request_id: str, started: float, **extra: Any) -> None:
        log.info(
            "llm.attempt",
            request_id=request_id,
            model=name,
            outcome="ok",
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            **extra,
        )

    def _models(self) -> list[ModelEndpoint]:
        """The chain, primary first; none configured is ModelUnavailable (the engine answers from the KB)."""
        if not self._chain:
            raise ModelUnavailable("no model configured")
        return self._chain

    async def _closed_breaker(self, name: str, request_id: str) -> bool:
        """Whether `name` may be tried now; a model whose breaker is open is skipped at once (and logged), and
        one litellm cannot route is never tried."""
        if self._name_index(name) in self._unroutable:
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
        for index, ep in enumerate(models):
            name = self._name(index)
            if not await self._closed_breaker(name, request_id):
                continue
            fallbacks = index  # every model before this one was skipped or failed
            started = time.perf_counter()
            idle = self._timeout(ep)
            yielded_text = False
            parts = StreamAssembler()
            response: Any = None
            try:
                try:
                    async with asyncio.timeout(self.settings.first_token_timeout_s):
                        response = await self._call(
                            index,
                            messages,
                            stream=True,
                            stream_options={"include_usage": True},
                            tools=list(tools) if tools else None,
                            max_tokens=self.settings.max_tokens,
                        )
                        chunks = aiter(response)
                        pending = await self._first_chunks(chunks, parts)
                except TimeoutError as exc:
                    raise _FirstTokenTimeout() from exc
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
                        raise _IdleTimeout() from exc
                    text = parts.add(chunk)
                    if text:
                        yielded_text = True
                        yield TextChunk(text)
            except (GeneratorExit, asyncio.CancelledError):
                await _close(response)
                await self.breaker.release_trial(name)
                raise
            except Exception as exc:
                await _close(response)
                outcome = {_FirstTokenTimeout: "first_token_timeout", _IdleTimeout: "idle_timeout"}.get(
                    type(exc), "interrupted" if yielded_text else "error"
                )
                await self._failed(name, exc, request_id, started, outcome)
                if yielded_text:
                    raise StreamInterrupted(f"{name} stopped mid-answer: {type(exc).__name__}") from exc
                continue
            await self.breaker.record_success(name)
            self.health.clear(name)
            completion = self._streamed(parts, messages, ep, fallbacks)
            self._log_ok(
                name,
                request_id,
                started,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                tool_calls=len(completion.tool_calls),
                fallbacks=fallbacks,
            )
            yield completion
            return
        raise ModelUnavailable(f"all {len(self._chain)} models failed or are circuit-broken")

    @staticmethod
    async def _first_chunks(chunks: Any, parts: StreamAssembler) -> list[str] | None:
        """Read until the first chunk with substance (text, a tool call or a finish); the texts read so far,
        or None when the stream ended before that."""
        texts: list[str] = []
        while True:  # anext, not `async for`: the loop below goes on reading the same iterator
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return None
            text = parts.add(chunk)
            if text:
                texts.append(text)
            if text or parts.calls or parts.finish_reason:  # the first chunk with substance
                return texts

    async def complete(
        self, messages: Sequence[dict[str, Any]], *, max_tokens: int | None = None, request_id: str = ""
    ) -> Completion:
        for index, ep in enumerate(self._models()):
            name = self._name(index)
            if not await self._closed_breaker(name, request_id):
                continue
            fallbacks = index
            started = time.perf_counter()
            try:
                response = await self._call(index, messages, max_tokens=max_tokens or self.settings.max_tokens)
            except asyncio.CancelledError:
                await self.breaker.release_trial(name)
                raise
            except Exception as exc:
                await self._failed(name, exc, request_id, started, "error")
                continue
            await self.breaker.record_success(name)
            self.health.clear(name)
            completion = self._completion(response, ep, fallbacks)
            self._log_ok(
                name,
                request_id,
                started,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                fallbacks=fallbacks,
            )
            return completion
        raise ModelUnavailable(f"all {len(self._chain)} models failed or are circuit-broken")


async def _close(stream: Any) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is None:
        return
    try:
        await closer()
    except Exception:  # closing a broken stream may raise again; nothing left to do
        return
