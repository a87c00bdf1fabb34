"""Conversation memory settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MemorySettings(BaseModel):
    max_tokens: int = Field(default=2000, gt=50)  # history window budget (summary included)
    ttl_s: int = Field(default=7 * 86_400, gt=0)  # idle conversations expire
    summary_max_tokens: int = Field(default=300, gt=10)
