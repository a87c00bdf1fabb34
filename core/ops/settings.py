"""Operations settings: tracing export, limits and budgets, the work queue, feedback retention."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class OtelSettings(BaseModel):
    endpoint: str | None = None  # OTLP/HTTP endpoint, e.g. http://otel-collector:4318; unset = tracing off
    service_name: str = "deskmate"


class LimitsSettings(BaseModel):
    max_message_chars: int = Field(default=4000, gt=0)
    user_per_minute: int = Field(default=20, ge=0)  # messages per user per minute; 0 = no limit
    tenant_per_minute: int = Field(default=600, ge=0)  # messages per tenant (workspace/bot) per minute; 0 = none
    tenant_daily_tokens: int = Field(default=0, ge=0)  # prompt + completion tokens per tenant per UTC day; 0 = none
    tenant_daily_cost_usd: float = Field(default=0.0, ge=0)  # model cost per tenant per UTC day; 0 = none


class QueueSettings(BaseModel):
    role: Literal["both", "receiver", "worker"] = "both"  # `deskmate serve --role` overrides
    stream: str = "inbound"  # Redis Stream name (under the dm: prefix)
    group: str = "workers"  # consumer group
    concurrency: int = Field(default=200, ge=1)  # at most this many messages answered at once per process
    # Admit fewer while the event loop lags more than this (the rest wait in the stream); 0 = always `concurrency`.
    max_loop_lag_ms: float = Field(default=25.0, ge=0)
    claim_idle_s: float = Field(default=60.0, gt=0)  # a pending message idle this long is taken over
    max_attempts: int = Field(default=3, ge=1)  # deliveries before a message is given up (with a reply)
    drain_s: float = Field(default=30.0, ge=0)  # on SIGTERM: time in-flight answers get to finish


class FeedbackSettings(BaseModel):
    retention_days: int = Field(default=90, ge=1)  # reply facts and votes kept this long for `deskmate report`
