"""Knowledge base settings: embeddings provider and the Chroma store."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class EmbeddingsSettings(BaseModel):
    model: str | None = None  # a litellm embedding model; unset = the local offline model
    api_base: str | None = None
    api_key: SecretStr | None = None
    dim: int = Field(default=0, ge=0)  # provider vector size; 0 = learned from the first response
    local_threads: int = Field(default=1, ge=0)  # BLAS threads of the local model per call; 0 = one per core
    # The local model: "use" (USE multilingual v3) or "use+e5" (USE fused with multilingual-e5-small, 4-bit:
    # better retrieval, ~4x slower ingest; core/knowledge/embed_fused.py). Changing it needs `deskmate kb reembed`.
    local_model: Literal["use", "use+e5"] = "use"
    local_use_weight: float = Field(default=0.5, ge=0, le=1)  # use+e5: the share of USE's cosine in a question's score
    rerank_model: str | None = None  # a litellm rerank model (e.g. "cohere/rerank-v3.5"); unset = no reranking
    rerank_api_base: str | None = None
    rerank_api_key: SecretStr | None = None


class ChromaSettings(BaseModel):
    url: str | None = None  # a Chroma server for several workers; unset = embedded under the data dir
