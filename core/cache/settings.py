"""Semantic cache settings (deployment level). Per-bot threshold lives in the profile's `cache:`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# Scalar stores GPTCache reaches through SQLAlchemy, and the driver module each one needs.
SCALAR_DRIVERS: dict[str, tuple[str, ...]] = {
    "sqlite": ("sqlalchemy",),
    "postgresql": ("sqlalchemy", "psycopg2"),
    "mysql": ("sqlalchemy", "pymysql"),
}
# Vector stores that work here, and the modules each one needs (chromadb and hnswlib do not: see docs/cache.md).
VECTOR_DRIVERS: dict[str, tuple[str, ...]] = {
    "faiss": ("faiss",),
    "pgvector": ("sqlalchemy", "psycopg2"),
    "milvus": ("pymilvus",),
}


class CacheSettings(BaseModel):
    """`DESKMATE_CACHE__*`. The defaults are embedded stores (sqlite + faiss) under the data dir."""

    ttl_s: int = Field(default=7 * 86_400, gt=0)  # an entry older than this is never served
    max_entries: int = Field(default=10_000, gt=0)  # per scope (tenant + bot + KB version + language)
    # Candidates: cosine similarity at least this (bots may override in `cache:`), same negation and anchors.
    # A candidate is only a hit when the verifier says yes; an exact repeat needs no verifier.
    threshold: float = Field(default=0.5, gt=0, le=1)
    # Short questions and questions whose content words differ must be closer still to be candidates.
    short_words: int = Field(default=3, ge=0)  # a question with at most this many content words is "short"
    short_margin: float = Field(default=0.0, ge=0, le=0.5)
    substitution_margin: float = Field(default=0.0, ge=0, le=0.5)
    top_k: int = Field(default=3, ge=1, le=20)  # nearest entries checked per lookup (and per lexical search)
    # The second candidate source (core/cache/lexical.py): a stored question sharing at least this weighted
    # share of stemmed content words is a candidate even under the cosine floor (1.0 = off). Candidates are
    # ranked by cosine + lexical_weight x overlap; the first max_verify go to the verifier.
    lexical_floor: float = Field(default=0.3, gt=0, le=1)
    lexical_weight: float = Field(default=0.3, ge=0, le=2)
    # The verifier (core/cache/verifier.py): the main model chain, or a cheaper judge model on its own endpoint.
    judge_model: str | None = None  # a litellm model string; unset = the main chain
    judge_api_base: str | None = None  # unset = the main chain's first endpoint's
    judge_api_key: SecretStr | None = None
    judge_timeout_s: float = Field(default=4.0, gt=0)  # a slower judgement is a miss
    judge_prompt_version: str = "v1"  # prompts/cache_judge/<version>.yaml
    max_verify: int = Field(default=2, ge=1, le=10)  # candidates sent to the verifier per lookup (concurrently)
    verify_margin: float = Field(default=0.1, ge=0, le=2)  # ... each ranked within this of the best one
    context_turns: int = Field(default=3, ge=0, le=20)  # earlier user turns shown to the verifier
    eviction: Literal["LRU", "LFU", "FIFO"] = "LRU"
    flush_every: int = Field(default=20, ge=1)  # write the faiss index to disk after this many stores
    max_open_scopes: int = Field(default=256, ge=1)  # scopes kept open per process (LRU)
    # Multi-worker deployments: one shared SQL database and one shared vector store (see docs/cache.md).
    scalar_store: Literal["sqlite", "postgresql", "mysql"] = "sqlite"
    scalar_url: str | None = None  # SQLAlchemy URL; unset = sqlite files under the data dir
    vector_store: Literal["faiss", "pgvector", "milvus"] = "faiss"
    vector_params: dict[str, Any] = Field(default_factory=dict)  # e.g. {"url": ...} or {"host": ..., "port": ...}


class BotCacheOptions(BaseModel):
    """A bot profile's `cache:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float | None = Field(default=None, gt=0, le=1)  # default: DESKMATE_CACHE__THRESHOLD
    ttl_s: int | None = Field(default=None, gt=0)  # default: DESKMATE_CACHE__TTL_S
    # "verify": a question with earlier messages in the conversation is served from the cache only when the
    # verifier, shown those messages, says the stored answer fits ("heuristic" is the old name of this);
    # "strict": a question with earlier messages is never looked up nor stored.
    followups: Literal["verify", "heuristic", "strict"] = "verify"
    min_chars: int = Field(default=8, ge=1)  # shorter questions ("hi", "thanks") are never cached
