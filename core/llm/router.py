"""The one litellm Router of a gateway: one deployment per chain position, the only retry loop."""

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


def build_router(chain: Sequence[ModelEndpoint], capabilities: Sequence[Capabilities], retries: int,
                 name: Callable[[int], str], timeout: Callable[[ModelEndpoint], float], health: ModelHealth,
                 unroutable: set[int]) -> Any:
    """A Router named `deskmate-<position>` per endpoint; positions litellm cannot route are recorded in
    `health` and `unroutable` (never sent)."""
    litellm = litellm_module()
    from litellm.types.router import RetryPolicy

    model_list = []
    for i, ep in enumerate(chain):
        try:  # a model string litellm cannot route is a configuration problem, named, never sent
            litellm.get_llm_provider(model=ep.model, api_base=ep.api_base)
        except Exception as exc:
            problem = config_problem(exc) or f"{type(exc).__name__}: {exc}"[:300]
            health.record(name(i), problem)
            unroutable.add(i)
            log.error("llm.config_error", model=name(i), error=type(exc).__name__, problem=problem)
            continue
        caps = capabilities[i]
        # The HTTP timeout covers the wait for the response headers, which a slow prefill delays.
        params: dict[str, Any] = {"model": ep.model, "timeout": max(timeout(ep), caps.first_token_timeout_s)}
        if ep.api_base:
            params["api_base"] = ep.api_base
        api_key = key_for(ep, caps)
        if api_key is not None:
            params["api_key"] = api_key
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
    return litellm.Router(model_list=model_list, num_retries=retries, retry_policy=policy, disable_cooldowns=True)
