"""slack_sdk's 429 retry handler, counting rate-limited calls and retries in the operations metrics.

slack_sdk retries a 429 only with `AsyncRateLimitErrorRetryHandler` installed (it waits `Retry-After`).
This subclass keeps that behaviour and reports `platform_api_rate_limited("slack", method)` for every 429
and `platform_api_retry("slack", method)` for every retry it makes (`core/ops/metrics.py`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

PLATFORM = "slack"


def method_of(request: HttpRequest) -> str:
    """`https://slack.com/api/chat.postMessage?x=1` -> `chat.postMessage` (a bounded label, never data)."""
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "unknown"


class CountingRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    def __init__(self, metrics: Any = None, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.metrics = metrics  # core.ops.metrics.Metrics (services.metrics) or None

    async def can_retry_async(self, *, state: RetryState, request: HttpRequest,
                              response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429 and self.metrics is not None:
            self.metrics.platform_api_rate_limited(PLATFORM, method_of(request))
        return await super().can_retry_async(state=state, request=request, response=response, error=error)

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        if self.metrics is not None:
            self.metrics.platform_api_retry(PLATFORM, method_of(request))
        await super().prepare_for_next_attempt_async(state=state, request=request, response=response, error=error)
