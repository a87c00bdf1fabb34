"""Hybrid retrieval: vector similarity (Chroma) + BM25 keywords, fused with Reciprocal Rank Fusion,
optionally reranked (litellm), with a relevance floor and metadata filters (tenant, access groups, tags, date).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import structlog

from core.knowledge.bridge import Bridge, Bridges
from core.knowledge.embeddings import Embedder, LocalEmbedder
from core.knowledge.ingest import embed_text
from core.knowledge.keyword import KeywordIndex, identifiers, tokenize
from core.knowledge.store import SHARED, Store, and_where
from core.llm.side import SideCallFailed, side_call
from core.models import Passage
from core.translit import russian_reading

log = structlog.get_logger("deskmate.knowledge")

Mode = Literal["hybrid", "vector", "keyword"]
KEYWORD_CUTOFF = 0.4  # keyword hits scoring below this fraction of the best one do not enter the fusion
OVERFETCH_FACTOR = 2.0  # unfiltered neighbours fetched = candidates / (share of chunks in scope) x this
RERANK_TIMEOUT_S = 5.0  # per attempt; side_call bounds the whole step (retries included)
OVERFETCH_MAX = 1000
_LATIN_WORD = re.compile(r"[a-z]+")
# Chosen on our tuning sets: postgresql-doc pages (138 pages: 3,494 such stems) vs the sample KB (393), where
# everyday words of answerable questions ("fix", "much", "staff") are missing from the documents.
UNKNOWN_MIN_VOCABULARY = 2000  # beyond this many (a narrow scope), Chroma filters with `where` instead


@dataclass(frozen=True)
class Scope:
    """Who is asking: only documents of this tenant (or shared) and these access groups (or public)."""

    tenant: str
    access_groups: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    updated_since: float | None = None

    def where(self) -> dict[str, Any] | None:
        conditions: list[dict[str, Any]] = [
            {"tenant": {"$in": [self.tenant, SHARED]}},
            {"access": {"$in": [*self.access_groups, SHARED]}},
            *({f"tag_{k}": v} for k, v in self.tags.items()),
        ]
        if self.updated_since is not None:
            conditions.append({"updated": {"$gte": self.updated_since}})
        return and_where(conditions)

    def allows(self, meta: Mapping[str, Any]) -> bool:
        """The same rule as `where()`/`mask()`, for one chunk's metadata."""
        if meta.get("tenant") not in (self.tenant, SHARED) or meta.get("access") not in (*self.access_groups, SHARED):
            return False
        if any(meta.get(f"tag_{k}") != v for k, v in self.tags.items()):
            return False
        return self.updated_since is None or float(meta.get("updated") or 0.0) >= self.updated_since

    def mask(self, index: KeywordIndex) -> np.ndarray:
        mask = index.mask_in("tenant", [self.tenant, SHARED]) & index.mask_in("access", [*self.access_groups, SHARED])
        for k, v in self.tags.items():
            mask &= index.mask_in(f"tag_{k}", [v])
        if self.updated_since is not None:
            mask &= index.mask_at_least("updated", self.updated_since)
        return mask


@dataclass
class Candidate:
    id: str
    collection: str
    text: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    similarity: float | None = None
    bm25: float = 0.0
    rrf: float = 0.0
    rerank: float | None = None


class Reranker:
    """A litellm rerank provider (Cohere, Jina, Voyage...)."""

    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None) -> None:
        self.model, self.api_base, self.api_key = model, api_base, api_key

    async def scores(self, query: str, documents: list[str]) -> list[float]:
        import litellm

        response = await side_call("rerank", self.model, lambda: litellm.arerank(
            model=self.model, query=query, documents=documents, top_n=len(documents), api_base=self.api_base,
            api_key=self.api_key, timeout=RERANK_TIMEOUT_S))
        scores = [0.0] * len(documents)
        for item in response.results or []:
            get = item.get if isinstance(item, dict) else lambda k, it=item: getattr(it, k)
            scores[int(get("index"))] = float(get("relevance_score"))
        return scores


class Searcher:
    """Hybrid search. Per collection and process it keeps, until the collection's version changes (Redis,
    so a re-index by another worker is seen on the next query): the Chroma handle, and an in-memory copy
    of every chunk's text and metadata with its BM25 matrix (`KeywordIndex`). Tenant/access/tag/date
    filters are numpy masks over that copy: Chroma is asked for nearest neighbours without a `where`
    (a filtered Chroma query scans the metadata: ~300 ms at 100k chunks, against ~2 ms unfiltered) and
    the results are filtered here; only a scope too narrow for that falls back to Chroma's `where`."""

    def __init__(self, store: Store, embedder: Embedder, reranker: Reranker | None = None,
                 bridge: bool | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.reranker = reranker
        # The cross-lingual keyword bridge (core/knowledge/bridge.py); by default with the local multilingual model
        # only: with a provider's embedder it would send every word of the vocabulary on each re-index.
        self.bridge = isinstance(embedder.phrases, LocalEmbedder) if bridge is None else bridge
        self.bridges = Bridges(embedder.phrases)  # words: the phrase embedder (plain USE with use+e5)
        self._handles: dict[str, tuple[int, Any]] = {}
        self._indexes: dict[str, tuple[int, KeywordIndex]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._latin_counts: dict[int, tuple[dict[str, int], int]] = {}

    def clear(self) -> None:
        self.bridges.clear()
        self._latin_counts.clear()
        self._handles.clear()
        self._indexes.clear()

    async def collection(self, name: str, version: int) -> Any | None:
        """The Chroma collection (None if absent), reopened only when its version changed."""
        cached = self._handles.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        coll = await self.store.get(name)
        self._handles[name] = (version, coll)
        return coll

    async def keyword_index(self, collection: str, coll: Any, version: int) -> KeywordIndex:
        """The in-memory index (text, metadata, BM25) of a collection, rebuilt (in a thread) when its version
        changed."""
        cached = self._indexes.get(collection)
        if cached and cached[0] == version:
            return cached[1]
        async with self._locks.setdefault(collection, asyncio.Lock()):
            cached = self._indexes.get(collection)
            if cached and cached[0] == version:
                return cached[1]
            started = time.perf_counter()
            index = await asyncio.to_thread(self._build_index, coll)
            self._indexes[collection] = (version, index)
            log.info("bm25_index_built", collection=collection, chunks=len(index),
                     seconds=round(time.perf_counter() - started, 3))
            return index

    async def bridge_for(self, collection: str, index: KeywordIndex, version: int) -> Bridge:
        """The collection's cross-lingual bridge, rebuilt when its version changed."""
        return await self.bridges.get(collection, version, lambda: [
            embed_text(m, t) for m, t in zip(index.metadatas, index.texts, strict=True)])

    @staticmethod
    def _build_index(coll: Any) -> KeywordIndex:
        rows = Store.get_all_sync(coll, ["documents", "metadatas"])
        metas = [m or {} for m in rows["metadatas"]]
        texts = [embed_text(m, d or "") for m, d in zip(metas, rows["documents"], strict=True)]
        index = KeywordIndex(rows["ids"], texts, metas)
        index.texts = [d or "" for d in rows["documents"]]  # passages show the chunk body, not its heading
        return index

    async def search(
        self,
        query: str,
        collections: Sequence[str],
        scope: Scope,
        *,
        top_k: int = 5,
        candidates: int = 30,
        rrf_k: int = 60,
        min_similarity: float = 0.3,
        rerank: bool = True,
        min_rerank_score: float = 0.0,
        mode: Mode = "hybrid",
        query_vector: list[float] | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Passage]:
        """The best passages for `query` that pass the relevance floor, best first (may be empty)."""
        if not query.strip() or not collections:
            return []
        t0 = time.perf_counter()
        names = list(dict.fromkeys(collections))
        versions = await self.store.versions(names)
        opened: list[tuple[str, Any, int]] = []
        for collection, version in zip(names, versions, strict=True):
            coll = await self.collection(collection, version)
            if coll is not None:
                Store.check_model(collection, coll, self.embedder.model_id)  # before paying for an embedding
                opened.append((collection, coll, version))
        if not opened:
            return []
        reading = russian_reading(query)  # Russian typed in Latin letters: also searched in Cyrillic (core/translit.py)
        if query_vector is None:
            query_vector = (await self.embedder.embed_query([reading or query]))[0]
        t_embed = time.perf_counter()
        found: dict[str, Candidate] = {}
        handles: dict[str, Any] = {}
        for collection, coll, version in opened:
            handles[collection] = coll
            await self._collect(query, reading, query_vector, collection, coll, version, scope, candidates, rrf_k,
                                mode, found)
        ranked = sorted(found.values(), key=lambda c: c.rrf, reverse=True)[: max(candidates, top_k)]
        await self._fill_similarity(ranked, query_vector, handles)
        wanted = identifiers(query)
        kept = [c for c in ranked if (c.similarity or 0.0) >= min_similarity
                or (wanted and wanted & identifiers(embed_text(c.meta, c.text)))]
        scores: list[float] | None = None
        if rerank and self.reranker is not None and kept:
            try:
                scores = await self.reranker.scores(query, [c.text for c in kept])
            except SideCallFailed as exc:  # optional: the fused ranking stands (logged by side_call)
                log.warning("rerank_skipped", reason=exc.reason, candidates=len(kept))
        if scores is not None:
            for c, s in zip(kept, scores, strict=True):
                c.rerank = s
            kept = sorted((c for c in kept if (c.rerank or 0.0) >= min_rerank_score),
                          key=lambda c: c.rerank or 0.0, reverse=True)
        if timings is not None:
            timings["embed_s"] = t_embed - t0
            timings["search_s"] = time.perf_counter() - t_embed
        return [self._passage(c) for c in kept[:top_k]]

    async def unknown_terms(self, query: str, collections: Sequence[str]) -> list[str]:
        """The query's Latin-script words (stemmed, 3+ letters, not stop words) that no chunk of these
        collections contains. Other scripts are not judged: a Russian question over English documents is
        expected to share no words with them."""
        terms = [t for t in dict.fromkeys(tokenize(query)) if len(t) >= 3 and _LATIN_WORD.fullmatch(t)]
        # (only in a knowledge base of UNKNOWN_MIN_VOCABULARY Latin-script words or more)
        if not terms or not collections:
            return []
        names = list(dict.fromkeys(collections))
        vocab_sets: list[dict[str, int]] = []
        for name, version in zip(names, await self.store.versions(names), strict=True):
            coll = await self.collection(name, version)
            if coll is not None:
                vocab_sets.append((await self.keyword_index(name, coll, version)).vocab)
        if sum(self._latin_words(v) for v in vocab_sets) < UNKNOWN_MIN_VOCABULARY:
            return []  # a small knowledge base lacks most everyday words: a missing one says nothing
        return [t for t in terms if not any(t in v for v in vocab_sets)]

    async def translations(self, query: str, collections: Sequence[str]) -> dict[str, set[str]]:
        """The question's words translated by the collections' bridges: word -> the documents' words it stands for
        (for the evidence gate's word coverage; the bridges and the words' vectors are cached)."""
        if not self.bridge or not query.strip():
            return {}
        names = list(dict.fromkeys(collections))
        found: list[tuple[Bridge, Mapping[str, int]]] = []
        for name, version in zip(names, await self.store.versions(names), strict=True):
            coll = await self.collection(name, version)
            if coll is not None:
                index = await self.keyword_index(name, coll, version)
                found.append((await self.bridge_for(name, index, version), index.vocab))
        return await self.bridges.translations(query, found)

    def _latin_words(self, vocab: dict[str, int]) -> int:
        key = id(vocab)
        if self._latin_counts.get(key, (None, 0))[0] is not vocab:
            self._latin_counts[key] = (vocab, sum(1 for t in vocab if _LATIN_WORD.fullmatch(t)))
        return self._latin_counts[key][1]

    async def _collect(self, query: str, reading: str | None, vector: list[float], collection: str, coll: Any,
                       version: int, scope: Scope, candidates: int, rrf_k: int, mode: Mode,
                       found: dict[str, Candidate]) -> None:
        def add(rank: int, cid: str) -> Candidate:
            cand = found.get(cid)
            if cand is None:
                cand = found[cid] = Candidate(cid, collection)
            cand.rrf += 1.0 / (rrf_k + rank)
            return cand

        index = await self.keyword_index(collection, coll, version)
        mask = scope.mask(index)
        if mode in ("hybrid", "vector"):
            hits = await asyncio.to_thread(self._nearest, coll, index, vector, scope, mask, candidates)
            for rank, (cid, similarity, text, meta) in enumerate(hits, start=1):
                cand = add(rank, cid)
                cand.text, cand.meta, cand.similarity = text, meta, similarity
        lists = [index.search(q, candidates, mask) for q in (query, reading) if q] if mode != "vector" else []
        if mode == "hybrid" and self.bridge:  # a Latin-letter Russian question is bridged from its Cyrillic reading
            terms = await self.bridges.terms(reading or query, index.vocab,
                                             await self.bridge_for(collection, index, version))
            if terms:
                lists.append(index.search_terms(terms, candidates, mask))
        for hits in lists:
            # Only strong keyword hits vote: a code's common prefix ("err" of ERR-4121) matches every code.
            hits = [(cid, score) for cid, score in hits if score >= KEYWORD_CUTOFF * hits[0][1]]
            for rank, (cid, score) in enumerate(hits, start=1):
                cand = add(rank, cid)
                cand.bm25 = max(cand.bm25, score)
                if not cand.text:
                    pos = index.position[cid]
                    cand.text, cand.meta = index.texts[pos], dict(index.metadatas[pos])

    @staticmethod
    def _nearest(coll: Any, index: KeywordIndex, vector: list[float], scope: Scope, mask: np.ndarray,
                 candidates: int) -> list[tuple[str, float, str, dict[str, Any]]]:
        """The `candidates` nearest chunks in scope: (id, cosine similarity, text, metadata), nearest first.

        Chroma returns more neighbours than needed without a filter (enough for the share of chunks in
        scope, twice over); the scope mask picks from them. A narrow scope (few chunks of this tenant in a
        big collection) or too few survivors falls back to Chroma's own `where` filter.
        """
        total = len(index)
        allowed = int(np.count_nonzero(mask)) if total else 0
        if total and not allowed:
            return []
        fetch = candidates if allowed == total else math.ceil(candidates * OVERFETCH_FACTOR * total / allowed)
        if fetch <= max(OVERFETCH_MAX, candidates):
            result = coll.query(query_embeddings=[vector], n_results=fetch, include=["distances"])
            hits = Searcher._in_scope(coll, index, scope, mask, result)
            if len(hits) >= candidates or fetch >= total:
                return hits[:candidates]
        result = coll.query(query_embeddings=[vector], n_results=candidates, where=scope.where(),
                            include=["distances"])
        return Searcher._in_scope(coll, index, scope, mask, result)[:candidates]

    @staticmethod
    def _in_scope(coll: Any, index: KeywordIndex, scope: Scope, mask: np.ndarray,
                  result: Mapping[str, Any]) -> list[tuple[str, float, str, dict[str, Any]]]:
        hits: list[tuple[str, float, str, dict[str, Any]]] = []
        unknown: dict[str, float] = {}  # written after this index was built (a re-index in progress elsewhere)
        for cid, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            pos = index.position.get(cid)
            if pos is None:
                unknown[cid] = 1.0 - float(distance)
            elif mask[pos]:
                hits.append((cid, 1.0 - float(distance), index.texts[pos], dict(index.metadatas[pos])))
        if unknown:
            rows = coll.get(ids=list(unknown), include=["documents", "metadatas"])
            for cid, doc, meta in zip(rows["ids"], rows["documents"], rows["metadatas"], strict=True):
                if scope.allows(meta or {}):
                    hits.append((cid, unknown[cid], doc or "", dict(meta or {})))
            hits.sort(key=lambda h: h[1], reverse=True)
        return hits

    async def _fill_similarity(self, ranked: list[Candidate], vector: list[float], handles: Mapping[str, Any]) -> None:
        """Cosine similarity for keyword-only candidates (their vectors come from Chroma, by id)."""
        missing: dict[str, list[Candidate]] = {}
        for c in ranked:
            if c.similarity is None:
                missing.setdefault(c.collection, []).append(c)
        q = np.asarray(vector, dtype=np.float32)
        q /= np.linalg.norm(q) or 1.0
        for collection, cands in missing.items():
            rows = await asyncio.to_thread(handles[collection].get, ids=[c.id for c in cands], include=["embeddings"])
            by_id = dict(zip(rows["ids"], rows["embeddings"], strict=True))
            for c in cands:
                emb = by_id.get(c.id)
                if emb is not None:
                    v = np.asarray(emb, dtype=np.float32)
                    c.similarity = float(v @ q / (np.linalg.norm(v) or 1.0))

    @staticmethod
    def _passage(c: Candidate) -> Passage:
        meta = c.meta
        extra: dict[str, Any] = {"collection": c.collection, "rrf": round(c.rrf, 6), "bm25": round(c.bm25, 4),
                                 "access": meta.get("access", SHARED)}  # who may read it (the cache keeps it)
        if "page" in meta:
            extra["page"] = meta["page"]
        if c.rerank is not None:
            extra["rerank"] = round(c.rerank, 4)
        section = meta.get("section", "")
        if "page" in meta:
            section = f"{section} (p. {meta['page']})".strip() if section else f"p. {meta['page']}"
        return Passage(source_id=c.id, text=c.text, title=meta.get("title", ""), section=section,
                       url=meta.get("url", ""), score=round(c.similarity or 0.0, 4), metadata=extra)
