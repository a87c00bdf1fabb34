"""Operations settings: tracing export and limits."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OtelSettings(BaseModel):
    endpoint: str | None = None  # OTLP endpoint; unset = tracing off


class LimitsSettings(BaseModel):
    max_message_chars: int = Field(default=4000, gt=0)
