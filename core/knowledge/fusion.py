"""How the ranked lists of one search are fused (core/knowledge/search.py): weighted Reciprocal Rank Fusion of the
vector list, the keyword lists (the question's own words, its Latin-letter reading, the cross-lingual bridge) and
a keyword list over the chunks' headings only (page title and section path), then document-level agreement.

- **Headings** (`heading_weight`): a page's title and section names are its most precise words ("pg_dump",
  "Continuous Archiving and Point-in-Time Recovery"); in the chunk's BM25 text they are a handful of words among
  ~180, so a question naming the topic of a page does not outscore a long chunk of another page that repeats the
  word. A second BM25 index over the headings alone is one more ranked list.
- **Document agreement** (`document_weight`): several chunks of one page in the fused list are evidence that the page
  is about the question; each chunk gains that share of the fused score of its page's other best chunks
  (at most `document_chunks` of them), so one stray matching chunk of an unrelated page ranks below a page whose
  several passages match.

Chosen on the implementer's own tuning questions (see docs/knowledge.md, "Fusion tuning"), never on held-out ones.
"""

from __future__ import annotations

from collections import defaultdict
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
    heading_weight: float = 0.0  # the keyword list over headings only (0 = not searched)
    document_weight: float = 0.0  # share of the page's other best chunks' fused score added to a chunk
    document_chunks: int = 3  # how many of a page's chunks count towards its agreement
    page_weight: float = 0.0  # the vote of the documents nearest the question as a whole (0 = off)
    pages: int = 30  # how many nearest documents vote


def document_key(c: Fused) -> tuple[str, str]:
    return c.collection, str(c.meta.get("url") or c.meta.get("source") or c.id)


def agree(candidates: Iterable[Fused], weight: float, chunks: int) -> None:
    """Add to each candidate's fused score `weight` x the fused scores of its document's other best chunks."""
    if weight <= 0:
        return
    by_doc: dict[tuple[str, str], list[Fused]] = defaultdict(list)
    for c in candidates:
        by_doc[document_key(c)].append(c)
    for group in by_doc.values():
        if len(group) < 2:
            continue
        best = sorted((c.rrf for c in group), reverse=True)[:chunks]
        total = sum(best)
        for c in group:
            # the other best chunks: all of them when this one is not among them, else the rest
            others = total - c.rrf if c.rrf >= best[-1] else sum(best[: chunks - 1])
            c.rrf += weight * others


class Pages:
    """One vector per document: the normalised mean of its chunks' vectors (what the page is about as a whole).

    A question phrased unlike any single passage ("put some tables on another disk") can still be near the page
    (tablespaces) as a whole; the pages nearest the question give their chunks among the candidates one more RRF
    vote (`page_weight`), by the page's rank."""

    def __init__(self, keys: list[tuple[str, str]], vectors: np.ndarray) -> None:
        self.keys = keys
        self.vectors = vectors

    @classmethod
    def build(cls, collection: str, coll: Any, metadatas: list[dict[str, Any]], ids: list[str]) -> Pages:
        """Mean chunk vector per document, read from Chroma page by page (the chunks' vectors are not kept)."""
        position = {cid: i for i, cid in enumerate(ids)}
        slots: dict[tuple[str, str], int] = {}
        sums: list[np.ndarray] = []
        offset = 0
        while True:
            page = coll.get(include=["embeddings"], limit=GET_PAGE, offset=offset)
            embeddings = page.get("embeddings")
            for cid, emb in zip(page["ids"], embeddings if embeddings is not None else [], strict=False):
                pos = position.get(cid)
                if pos is None:
                    continue
                meta = metadatas[pos]
                doc = (collection, str(meta.get("url") or meta.get("source") or cid))
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

    def ranks(self, vector: Sequence[float], limit: int) -> dict[tuple[str, str], int]:
        """The `limit` documents nearest the question: document key -> rank (1 = nearest)."""
        if not self.keys:
            return {}
        q = np.asarray(vector, dtype=np.float32)
        sims = self.vectors @ (q / (np.linalg.norm(q) or 1.0))
        top = np.argsort(-sims)[:limit]
        return {self.keys[i]: rank for rank, i in enumerate(top, start=1)}


def page_votes(candidates: Iterable[Fused], ranks: dict[tuple[str, str], int], weight: float, rrf_k: int) -> None:
    """Each candidate of a document near the question gains weight / (rrf_k + the document's rank)."""
    if weight <= 0 or not ranks:
        return
    for c in candidates:
        rank = ranks.get(document_key(c))
        if rank is not None:
            c.rrf += weight / (rrf_k + rank)
