"""Knowledge base settings: embeddings provider and the Chroma store."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class EmbeddingsSettings(BaseModel):
    model: str | None = None  # a litellm embedding model; unset = the local offline model
    api_base: str | None = None
    api_key: SecretStr | None = None
    dim: int = Field(default=0, ge=0)  # provider vector size; 0 = learned from the first response
    local_model_path: Path | None = None  # another sentence-transformers model folder; unset = all-MiniLM-L6-v2
    local_threads: int = Field(default=1, ge=0)  # intra-op threads of the local model; 0 = one per core
    local_cache_dir: Path | None = None  # where the local model's ONNX export is kept; unset = ~/.cache/deskmate
    rerank_model: str | None = None  # a litellm rerank model (e.g. "cohere/rerank-v3.5"); unset = no reranking
    rerank_api_base: str | None = None
    rerank_api_key: SecretStr | None = None


class ChromaSettings(BaseModel):
    url: str | None = None  # a Chroma server for several workers; unset = embedded under the data dir
