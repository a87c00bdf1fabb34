"""Per-bot retrieval options: the `retrieval:` section of a bot profile, validated here."""

from __future__ import annotations

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
    # relevance floor (cosine) for a passage; 0.2 chosen for the local USE multilingual v3 on bench/data/tuning
    min_similarity: float = Field(default=0.2, ge=-1, le=1)
    rerank: bool = True  # use the configured rerank model (DESKMATE_EMBEDDINGS__RERANK_MODEL) if any
    min_rerank_score: float = Field(default=0.0, ge=0)  # relevance floor on the reranker's score
    access_groups: tuple[str, ...] = ()  # groups this bot may read besides public ("*") documents
    tags: dict[str, str] = Field(default_factory=dict)  # only documents with these tags
    max_age_days: float | None = Field(default=None, gt=0)  # only documents updated this recently
    channels: dict[str, ChannelScope] = Field(default_factory=dict)  # per channel id overrides
