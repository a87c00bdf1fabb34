"""Per-bot retrieval options: the `retrieval:` section of a bot profile, validated here."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChannelScope(BaseModel):
    """What one channel may search instead of the bot's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    collections: tuple[str, ...] | None = None
    access_groups: tuple[str, ...] | None = None


class RetrievalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    top_k: int = Field(default=5, ge=1, le=50)  # passages put into the prompt
    candidates: int = Field(default=30, ge=1, le=500)  # per retriever (vector, BM25) before fusion
    rrf_k: int = Field(default=60, ge=1)  # Reciprocal Rank Fusion constant
    # Relevance floor (cosine) for a passage; low, because the evidence gate (min_confidence) decides whether
    # the passages are good enough to answer from, with the query's words as well as the cosine.
    min_similarity: float = Field(default=0.15, ge=-1, le=1)
    rerank: bool = True  # use the configured rerank model (DESKMATE_EMBEDDINGS__RERANK_MODEL) if any
    min_rerank_score: float = Field(default=0.0, ge=0)  # relevance floor on the reranker's score
    rewrite: Literal["model", "rules", "off"] = "model"  # follow-ups: model rewrite (rules without one), rules, off
    abstain: bool = True  # below the evidence gate: say nothing reliable was found instead of asking the model
    min_confidence: float | None = Field(default=None, ge=-1, le=1)  # the gate's floor; None = calibrated default
    access_groups: tuple[str, ...] = ()  # groups this bot may read besides public ("*") documents
    tags: dict[str, str] = Field(default_factory=dict)  # only documents with these tags
    max_age_days: float | None = Field(default=None, gt=0)  # only documents updated this recently
    channels: dict[str, ChannelScope] = Field(default_factory=dict)  # per channel id overrides
