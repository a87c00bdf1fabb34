"""How the ranked lists of one search are fused (core/knowledge/search.py): weighted Reciprocal Rank Fusion of the
vector list and the keyword lists (the question's own words, its Latin-letter reading, the cross-lingual bridge),
plus one vote for the pages nearest the question as a whole.

**Page vote** (`page_weight`): each document gets one vector, the normalised mean of its chunks' vectors (what the
page is about as a whole, `Pages`). A question phrased unlike any single passage of its page ("put some tables on
another disk") is often still near that page as a whole; the `pages` documents nearest the question give their
chunks among the candidates `page_weight / (rrf_k + the page's rank)` more.

Chosen on the implementer's own questions (bench/tune_retrieval.py: the dev set and bench/data/tuning/
pg_corpus_own.jsonl), never on held-out ones; see docs/knowledge.md, "Fusion tuning", for what was tried and
dropped (a keyword list over headings only, agreement of several chunks of one page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from core.knowledge.store import GET_PAGE


class Fused(Protocol):
    @property
    def collection(self) -> str: ...
    @property
    def meta(self) -> dict[str, Any]: ...
    @property
    def id(self) -> str: ...
    rrf: float


@dataclass
class Fusion:
    vector_weight: float = 1.0  # the vector list's votes in the RRF sum
    keyword_weight: float = 1.0  # each keyword list's votes (question words, reading, bridge)
    page_weight: float = 0.5  # the vote of the documents nearest the question as a whole (0 = off)
    pages: int = 30  # how many nearest documents vote


def page_key(collection: str, meta: dict[str, Any], cid: str) -> tuple[str, ...]:
    """A document of one tenant and access group: one tenant's chunks never move another tenant's ranking, even when
    both ingested a file of the same path."""
    return (collection, str(meta.get("url") or meta.get("source") or cid), str(meta.get("tenant", "")),
            str(meta.get("access", "")))


def document_key(c: Fused) -> tuple[str, ...]:
    return page_key(c.collection, c.meta, c.id)


class Pages:
    """One vector per document of a collection: the normalised mean of its chunks' vectors (~2 KB a document)."""

    def __init__(self, keys: list[tuple[str, ...]], vectors: np.ndarray) -> None:
        self.keys = keys
        self.vectors = vectors

    @classmethod
    def build(cls, collection: str, coll: Any, metadatas: list[dict[str, Any]], ids: list[str]) -> Pages:
        """Mean chunk vector per document, read from Chroma page by page (the chunks' vectors are not kept)."""
        position = {cid: i for i, cid in enumerate(ids)}
        slots: dict[tuple[str, ...], int] = {}
        sums: list[np.ndarray] = []
        offset = 0
        while True:
            page = coll.get(include=["embeddings"], limit=GET_PAGE, offset=offset)
            embeddings = page.get("embeddings")
            for cid, emb in zip(page["ids"], embeddings if embeddings is not None else [], strict=False):
                pos = position.get(cid)
                if pos is None:
                    continue
                doc = page_key(collection, metadatas[pos], cid)
                v = np.asarray(emb, dtype=np.float32)
                v /= np.linalg.norm(v) or 1.0
                slot = slots.setdefault(doc, len(slots))
                if slot == len(sums):
                    sums.append(v.copy())
                else:
                    sums[slot] += v
            if len(page["ids"]) < GET_PAGE:
                break
            offset += GET_PAGE
        if not sums:
            return cls([], np.zeros((0, 1), dtype=np.float32))
        matrix = np.vstack(sums)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
        return cls(list(slots), matrix)

    def ranks(self, vector: Sequence[float], limit: int) -> dict[tuple[str, ...], int]:
        """The `limit` documents nearest the question: document key -> rank (1 = nearest)."""
        if not self.keys:
            return {}
        q = np.asarray(vector, dtype=np.float32)
        sims = self.vectors @ (q / (np.linalg.norm(q) or 1.0))
        if len(sims) > limit:
            top = np.argpartition(-sims, limit - 1)[:limit]
            top = top[np.argsort(-sims[top])]
        else:
            top = np.argsort(-sims)
        return {self.keys[i]: rank for rank, i in enumerate(top, start=1)}


def page_votes(candidates: Iterable[Fused], ranks: dict[tuple[str, ...], int], weight: float, rrf_k: int) -> None:
    """Each candidate of a document near the question gains weight / (rrf_k + the document's rank)."""
    if weight <= 0 or not ranks:
        return
    for c in candidates:
        rank = ranks.get(document_key(c))
        if rank is not None:
            c.rrf += weight / (rrf_k + rank)
