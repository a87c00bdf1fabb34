"""The knowledge base facade the composition root and the CLI use: `open_knowledge(...)` -> `Knowledge`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.knowledge.embeddings import Embedder, build_embedder
from core.knowledge.errors import KnowledgeError
from core.knowledge.ingest import ADD_BATCH, Ingestor, IngestReport, Progress, embed_text
from core.knowledge.loaders import CsvMapping
from core.knowledge.search import Reranker, Searcher
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings
from core.knowledge.store import PREFIX, SHARED, Store, open_client

log = structlog.get_logger("deskmate.knowledge")

SAMPLE_ROOT = Path(__file__).resolve().parents[2] / "bots" / "sample_kb"
SAMPLE_DIR = SAMPLE_ROOT / "company"  # internal: employees' IT and HR documents
SAMPLE_PUBLIC_DIR = SAMPLE_ROOT / "public"  # customer-facing: what the support bot reads
# The bundled sample knowledge base, per collection: (folder, access group). "company-hr" is HR-only.
SAMPLES: dict[str, tuple[tuple[Path, str], ...]] = {
    "company": ((SAMPLE_DIR, SHARED), (SAMPLE_ROOT / "company-hr", "hr")),
    "public": ((SAMPLE_PUBLIC_DIR, SHARED),),
}


@dataclass(frozen=True)
class CollectionStats:
    name: str
    model: str
    documents: int
    chunks: int
    tenants: dict[str, int]  # documents per tenant ("*" = shared)
    access_groups: dict[str, int]  # documents per access group ("*" = everyone)
    last_updated: float | None


class Knowledge:
    def __init__(self, embedder: Embedder, store: Store, reranker: Reranker | None = None) -> None:
        self.embedder = embedder
        self.store = store
        self.ingestor = Ingestor(store, embedder)
        self.searcher = Searcher(store, embedder, reranker)

    async def ready(self) -> tuple[bool, str]:
        """The vector store answers (Chroma's heartbeat: in-process or over HTTP)."""
        await asyncio.to_thread(self.store.client.heartbeat)
        return True, ""

    async def ingest(self, paths: Sequence[str], collection: str, *, tenant: str = SHARED, access_group: str = SHARED,
                     tags: Mapping[str, str] | None = None, csv_mapping: CsvMapping | None = None,
                     progress: Progress | None = None) -> IngestReport:
        return await self.ingestor.ingest(paths, collection, tenant=tenant, access_group=access_group, tags=tags,
                                          csv_mapping=csv_mapping, progress=progress)

    async def kb_version(self, tenant: str, collections: Sequence[str]) -> str:
        """Changes whenever any of these collections is re-indexed (semantic cache scope)."""
        return await self.store.kb_version(tenant, collections, self.embedder.model_id)

    async def ensure_sample(self, collection: str) -> list[IngestReport] | None:
        """Ingest the bundled sample documents of `collection` (bots/sample_kb/, see SAMPLES) if it is empty, so a
        first chat has something to answer from. A collection with no sample stays as it is."""
        if collection not in SAMPLES:
            return None
        coll = await self.store.get(collection)
        if coll is not None and await asyncio.to_thread(coll.count) > 0:
            return None
        reports = []
        for folder, access in SAMPLES[collection]:
            reports.append(report := await self.ingest([str(folder)], collection, access_group=access))
            log.info("sample_kb_ingested", collection=collection, folder=folder.name, access=access,
                     chunks=report.chunks)
        return reports

    async def collections(self) -> list[str]:
        return await self.store.names()

    async def stats(self, name: str) -> CollectionStats:
        coll = await self.store.get(name)
        if coll is None:
            raise KnowledgeError(f"no collection {name!r}")
        rows = await asyncio.to_thread(Store.get_all_sync, coll, ["metadatas"])
        docs: dict[str, dict[str, Any]] = {}
        for meta in rows["metadatas"]:
            if meta:
                docs.setdefault(meta.get("doc", ""), meta)
        tenants: dict[str, int] = {}
        groups: dict[str, int] = {}
        for meta in docs.values():
            tenants[meta.get("tenant", SHARED)] = tenants.get(meta.get("tenant", SHARED), 0) + 1
            groups[meta.get("access", SHARED)] = groups.get(meta.get("access", SHARED), 0) + 1
        updated = [float(m.get("updated", 0)) for m in docs.values()]
        return CollectionStats(name, (coll.metadata or {}).get("embedding_model", "?"), len(docs), len(rows["ids"]),
                               tenants, groups, max(updated) if updated else None)

    async def documents(self, name: str) -> list[dict[str, Any]]:
        """One row per document: source, title, tenant, access group, chunks, updated."""
        coll = await self.store.get(name)
        if coll is None:
            raise KnowledgeError(f"no collection {name!r}")
        rows = await asyncio.to_thread(Store.get_all_sync, coll, ["metadatas"])
        docs: dict[str, dict[str, Any]] = {}
        for meta in rows["metadatas"]:
            if not meta:
                continue
            entry = docs.setdefault(meta.get("doc", ""), {
                "source": meta.get("source", ""), "title": meta.get("title", ""), "tenant": meta.get("tenant", SHARED),
                "access": meta.get("access", SHARED), "updated": meta.get("updated"), "chunks": 0})
            entry["chunks"] += 1
        return sorted(docs.values(), key=lambda d: d["source"])

    async def remove(self, name: str, source: str | None = None, tenant: str | None = None) -> int:
        """Drop a whole collection (returns its chunk count), or only the documents from `source`."""
        coll = await self.store.get(name)
        if coll is None:
            raise KnowledgeError(f"no collection {name!r}")
        if source is None:
            count = await asyncio.to_thread(coll.count)
            await self.store.drop(name)
            return count
        resolved = source
        if not source.startswith(("http://", "https://")):
            resolved = str(await asyncio.to_thread(lambda: Path(source).expanduser().resolve()))
        where: dict[str, Any] = {"source": resolved}
        if tenant:
            where = {"$and": [where, {"tenant": tenant}]}
        found = await asyncio.to_thread(coll.get, where=where, include=[])
        if found["ids"]:
            await asyncio.to_thread(coll.delete, ids=found["ids"])
            await self.store.bump(name)
        return len(found["ids"])

    async def reembed(self, name: str, progress: Progress | None = None) -> int:
        """Rebuild a collection's vectors with the current embedding model (the text is kept). Returns chunks."""
        coll = await self.store.get(name)
        if coll is None:
            raise KnowledgeError(f"no collection {name!r}")
        started = time.perf_counter()
        rows = await asyncio.to_thread(Store.get_all_sync, coll, ["documents", "metadatas"])
        tmp_name = f"{name}__reembed"
        stale = await self.store.get(tmp_name) if len(tmp_name) <= 62 else None
        if stale is not None:
            await asyncio.to_thread(self.store.client.delete_collection, PREFIX + tmp_name)
        meta = {"deskmate": "kb", "kb_name": name, "embedding_model": self.embedder.model_id, "dim": self.embedder.dim}
        new = await asyncio.to_thread(self.store.client.create_collection, PREFIX + tmp_name, metadata=meta,
                                      configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        total = len(rows["ids"])
        report = IngestReport(name)
        for start in range(0, total, ADD_BATCH):
            end = start + ADD_BATCH
            docs, metas = rows["documents"][start:end], rows["metadatas"][start:end]
            texts = [embed_text(m or {}, d or "") for m, d in zip(metas, docs, strict=True)]
            vectors = await self.embedder.embed(texts)
            await asyncio.to_thread(new.add, ids=rows["ids"][start:end], embeddings=vectors, documents=docs,
                                    metadatas=metas)
            report.chunks = min(end, total)
            if progress:
                progress(report.chunks, total, report, name)
        if self.embedder.dim == 0 and total:  # a litellm model learned its size on the first call
            meta["dim"] = self.embedder.dim
        await asyncio.to_thread(self.store.client.delete_collection, PREFIX + name)
        await asyncio.to_thread(new.modify, name=PREFIX + name)
        await self.store.bump(name)
        log.info("reembed_done", collection=name, chunks=total, seconds=round(time.perf_counter() - started, 3))
        return total

    async def aclose(self) -> None:
        self.searcher.clear()


async def open_knowledge(embeddings: EmbeddingsSettings, chroma: ChromaSettings, data_dir: Path,
                         redis: aioredis.Redis) -> Knowledge:
    """Connect the embedder (lazy model load), Chroma (embedded or server) and the version counters."""
    client = await asyncio.to_thread(open_client, chroma, Path(data_dir))
    reranker = None
    if embeddings.rerank_model:
        key = embeddings.rerank_api_key.get_secret_value() if embeddings.rerank_api_key else None
        reranker = Reranker(embeddings.rerank_model, embeddings.rerank_api_base, key)
    return Knowledge(build_embedder(embeddings), Store(client, redis), reranker)
