"""Semantic cache settings (deployment level). Per-bot threshold lives in the profile's `cache:`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    threshold: float = Field(default=0.87, gt=0, le=1)  # cosine similarity; bots may override in `cache:`
    # The second check: short questions and questions whose content words differ must be closer still.
    short_words: int = Field(default=3, ge=0)  # a question with at most this many content words is "short"
    short_margin: float = Field(default=0.02, ge=0, le=0.5)
    substitution_margin: float = Field(default=0.04, ge=0, le=0.5)
    top_k: int = Field(default=3, ge=1, le=20)  # nearest entries checked per lookup
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
    # "heuristic": with earlier messages in the conversation, questions that refer back ("and on Mac?",
    # "how do I reset it") are not cached; "strict": any question with earlier messages is not cached.
    followups: Literal["heuristic", "strict"] = "heuristic"
    min_chars: int = Field(default=8, ge=1)  # shorter questions ("hi", "thanks") are never cached
