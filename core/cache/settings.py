"""Semantic cache settings (deployment level). Per-bot threshold lives in the profile's `cache:`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CacheSettings(BaseModel):
    ttl_s: int = Field(default=7 * 86_400, gt=0)
    max_entries: int = Field(default=10_000, gt=0)
    threshold: float = Field(default=0.9, gt=0, le=1)
