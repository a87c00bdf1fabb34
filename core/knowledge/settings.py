"""Knowledge base settings: embeddings provider and the Chroma store."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class EmbeddingsSettings(BaseModel):
    model: str | None = None  # a litellm embedding model; unset = the local offline model
    api_base: str | None = None
    api_key: SecretStr | None = None


class ChromaSettings(BaseModel):
    url: str | None = None  # a Chroma server for several workers; unset = embedded under the data dir
