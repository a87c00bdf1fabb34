"""The one litellm Router of a gateway (one deployment per chain position, the only retry loop), and the direct
path beside it: one plain `litellm.acompletion` per attempt, no Router, no retries (the cache judge, whose
user waits on it and for whom a slow or failed judgement is simply a miss)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog

from core.llm.capabilities import Capabilities, key_for
from core.llm.health import ModelHealth, config_problem
from core.llm.settings import ModelEndpoint

log = structlog.get_logger("core.llm.gateway")


def litellm_module() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.turn_off_message_logging = True
    litellm.disable_streaming_logging = True  # no per-chunk logging callbacks: we log one event per attempt
    return litellm


def warm_litellm() -> None:
    """litellm and the openai client import most provider code lazily on the first call (~1-3 s, 500+ modules):
    pay that at startup (in a thread). The client below is never used to send anything."""
    import asyncio

    import openai

    litellm = litellm_module()
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


def check_routes(chain: Sequence[ModelEndpoint], name: Callable[[int], str], health: ModelHealth,
                 unroutable: set[int]) -> None:
    """A model string litellm cannot route is a configuration problem: named in `health`, never sent."""
    litellm = litellm_module()
    for i, ep in enumerate(chain):
        try:
            litellm.get_llm_provider(model=ep.model, api_base=ep.api_base)
        except Exception as exc:
            problem = config_problem(exc) or f"{type(exc).__name__}: {exc}"[:300]
            health.record(name(i), problem)
            unroutable.add(i)
            log.error("llm.config_error", model=name(i), error=type(exc).__name__, problem=problem)


def endpoint_params(ep: ModelEndpoint, caps: Capabilities, timeout: Callable[[ModelEndpoint], float]) -> dict[str, Any]:
    """litellm's parameters for one endpoint (a Router deployment's, or a direct call's)."""
    # The HTTP timeout covers the wait for the response headers, which a slow prefill delays.
    params: dict[str, Any] = {"model": ep.model, "timeout": max(timeout(ep), caps.first_token_timeout_s)}
    if ep.api_base:
        params["api_base"] = ep.api_base
    api_key = key_for(ep, caps)
    if api_key is not None:
        params["api_key"] = api_key
    return params


async def direct_completion(params: dict[str, Any], messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    """One attempt through litellm's public `acompletion`, without the Router: no retries (`max_retries=0`: the
    SDK client's own), the endpoint's timeout. The caller owns the breaker, the fallback and the accounting."""
    return await litellm_module().acompletion(messages=messages, max_retries=0, **params, **kwargs)


def build_router(chain: Sequence[ModelEndpoint], capabilities: Sequence[Capabilities], retries: int,
                 name: Callable[[int], str], timeout: Callable[[ModelEndpoint], float], health: ModelHealth,
                 unroutable: set[int]) -> Any:
    """A Router named `deskmate-<position>` per endpoint; positions litellm cannot route are recorded in
    `health` and `unroutable` (never sent)."""
    litellm = litellm_module()
    from litellm.types.router import RetryPolicy

    check_routes(chain, name, health, unroutable)
    model_list = [{"model_name": f"deskmate-{i}", "litellm_params": endpoint_params(ep, capabilities[i], timeout)}
                  for i, ep in enumerate(chain) if i not in unroutable]
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
    return litellm.Router(model_list=model_list, num_retries=retries, retry_policy=policy, disable_cooldowns=True)
