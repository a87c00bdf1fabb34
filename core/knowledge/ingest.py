"""Incremental ingestion: files, folders and URLs -> chunks with metadata -> embeddings -> Chroma.

A document's content hash (bytes + the options that shape its chunks) decides: unchanged documents
are skipped without embedding; changed ones replace all their old chunks; documents that disappeared
from a re-ingested folder are removed. Text blocks repeated on many pages of one source (a footer, a cookie
note) are dropped before chunking (core/knowledge/boilerplate.py). Unreadable or unsupported files are
reported and skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from core.knowledge.boilerplate import Repeats, fingerprints, source_group
from core.knowledge.chunking import chunk_document
from core.knowledge.embeddings import Embedder
from core.knowledge.loaders import CsvMapping, UnreadableDocument, UnsupportedDocument, kind_of, load
from core.knowledge.store import SHARED, Store

log = structlog.get_logger("deskmate.knowledge")

CHUNK_TOKENS = 180
OVERLAP = 0.15
ADD_BATCH = 1000
EMBED_GROUP = 256  # chunks of several small documents embedded in one call and written in one Chroma add


@dataclass
class IngestReport:
    collection: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0  # chunks embedded and written in this run
    boilerplate: int = 0  # blocks dropped as repeated across pages of one source
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        text = (f"{self.collection}: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.removed} removed; {self.chunks} chunks embedded in {self.seconds:.1f}s")
        if self.boilerplate:
            text += f"; {self.boilerplate} repeated blocks dropped"
        if self.failed:
            text += f"; {len(self.failed)} skipped:\n" + "\n".join(f"  {n}: {r}" for n, r in self.failed)
        return text


@dataclass(frozen=True)
class Source:
    """One thing to ingest: a file (with the folder it was found in) or a URL."""

    name: str  # absolute path or URL: the document's identity
    root: str = ""  # the folder given on the command line, for removing vanished documents
    is_url: bool = False


Progress = Callable[[int, int, IngestReport, str], None]


def expand(paths: Sequence[str], report: IngestReport) -> tuple[list[Source], list[str]]:
    """Files and URLs to ingest, and the folders scanned (missing paths go to report.failed)."""
    sources: list[Source] = []
    roots: list[str] = []
    for raw in paths:
        if raw.startswith(("http://", "https://")):
            sources.append(Source(raw, is_url=True))
            continue
        path = Path(raw).expanduser()
        if path.is_dir():
            root = str(path.resolve())
            roots.append(root)
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                if file.is_file() and not any(part.startswith(".") for part in rel.parts):
                    sources.append(Source(str(file.resolve()), root))
        elif path.is_file():
            sources.append(Source(str(path.resolve())))
        else:
            report.failed.append((raw, "no such file or folder"))
    return sources, roots


@dataclass
class _Pending:
    """A parsed document waiting for its chunks to be embedded and written."""

    source: Source
    key: str
    replace: bool
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]


def doc_key(tenant: str, name: str) -> str:
    return hashlib.sha256(f"{tenant}|{name}".encode()).hexdigest()[:24]


class Ingestor:
    def __init__(self, store: Store, embedder: Embedder, chunk_tokens: int = CHUNK_TOKENS,
                 overlap: float = OVERLAP) -> None:
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.overlap = overlap

    async def ingest(
        self,
        paths: Sequence[str],
        collection: str,
        *,
        tenant: str = SHARED,
        access_group: str = SHARED,
        tags: Mapping[str, str] | None = None,
        csv_mapping: CsvMapping | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport(collection)
        tags = dict(tags or {})
        coll = await self.store.open(collection, self.embedder.model_id, self.embedder.dim)
        sources, roots = expand(paths, report)
        manifest = await asyncio.to_thread(self._manifest, coll, tenant)
        options = json.dumps({"access": access_group, "tags": tags, "csv": repr(csv_mapping),
                              "tokens": self.chunk_tokens, "overlap": self.overlap}, sort_keys=True).encode()
        seen: set[str] = set()
        parsed: dict[str, tuple[Source, str, Any, dict[str, Any], bool]] = {}
        for source in sources:  # pass 1: read and parse what changed (boilerplate needs every page first)
            key = doc_key(tenant, source.name)
            seen.add(key)
            try:
                data, updated, content_type = await self._read(source)
                digest = hashlib.sha256(data + b"\0" + options).hexdigest()
                old = manifest.get(key)
                if old is not None and old["hash"] == digest:
                    report.unchanged += 1
                    continue
                kind = kind_of(source.name, content_type)
                doc = await asyncio.to_thread(load, data, source.name, kind, csv_mapping)
                meta = {"doc": key, "source": source.name, "root": source.root, "title": doc.title,
                        "updated": updated, "hash": digest, "tenant": tenant, "access": access_group,
                        "url": source.name, **{f"tag_{k}": v for k, v in tags.items()}}
                parsed[source.name] = (source, key, doc, meta, old is not None)
            except (UnsupportedDocument, UnreadableDocument, OSError) as exc:
                report.failed.append((source.name, str(exc) if not isinstance(exc, OSError) else
                                      f"cannot read: {exc.strerror or type(exc).__name__}"))
                log.warning("ingest_skipped", collection=collection, error=type(exc).__name__)
            except Exception as exc:  # a network error for a URL and the like: skip this one only
                report.failed.append((source.name, f"{type(exc).__name__}"))
                log.warning("ingest_skipped", collection=collection, error=type(exc).__name__)
        repeats = Repeats()
        for key, info in manifest.items():  # documents not parsed now count with their stored fingerprints
            if info["source"] in parsed or (key not in seen and info["root"] and info["root"] in roots):
                continue  # parsed again (counted below), or gone from a re-ingested folder
            repeats.add(source_group(info["source"], info["root"]), info["blocks"].split())
        for source, _, doc, _, _ in parsed.values():
            repeats.add(source_group(source.name, source.root), fingerprints(doc))
        pending: list[_Pending] = []
        try:
            for index, source in enumerate(sources, start=1):  # pass 2: drop boilerplate, chunk, embed, write
                if source.name in parsed:
                    _, key, doc, meta, replace = parsed.pop(source.name)
                    meta["blocks"] = " ".join(fingerprints(doc))
                    doc, dropped = repeats.strip(doc, source_group(source.name, source.root))
                    report.boilerplate += dropped
                    pending.append(self._prepare(source, key, doc, meta, replace=replace))
                if index == len(sources) or sum(len(p.ids) for p in pending) >= EMBED_GROUP:  # progress shows it
                    await self._flush(coll, pending, report, collection)
                if progress:
                    progress(index, len(sources), report, source.name)
            await self._flush(coll, pending, report, collection)
            for key, info in manifest.items():  # documents gone from a re-ingested folder
                if info["root"] and info["root"] in roots and key not in seen:
                    await asyncio.to_thread(coll.delete, where={"doc": key})
                    report.removed += 1
        finally:
            if report.changed:
                await self.store.bump(collection)
            report.seconds = time.perf_counter() - started
            log.info("ingest_done", collection=collection, added=report.added, updated=report.updated,
                     unchanged=report.unchanged, removed=report.removed, chunks=report.chunks,
                     failed=len(report.failed), seconds=round(report.seconds, 3))
        return report

    @staticmethod
    def _manifest(coll: Any, tenant: str) -> dict[str, dict[str, str]]:
        """Per document of this tenant: its hash, folder, source and block fingerprints (boilerplate.py)."""
        rows = Store.get_all_sync(coll, ["metadatas"], where={"tenant": tenant})
        docs: dict[str, dict[str, str]] = {}
        for meta in rows["metadatas"]:
            if meta and meta.get("doc") not in docs:
                docs[meta["doc"]] = {"hash": meta.get("hash", ""), "root": meta.get("root", ""),
                                     "source": meta.get("source", ""), "blocks": ""}
            if meta and meta.get("blocks"):  # the fingerprints live on a document's first chunk
                docs[meta["doc"]]["blocks"] = str(meta["blocks"])
        return docs

    async def _read(self, source: Source) -> tuple[bytes, float, str | None]:
        if not source.is_url:
            path = Path(source.name)
            data = await asyncio.to_thread(path.read_bytes)
            stat = await asyncio.to_thread(path.stat)
            return data, stat.st_mtime, None
        import httpx

        async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
            response = await client.get(source.name)
        if response.status_code >= 400:
            raise UnreadableDocument(f"HTTP {response.status_code}")
        updated = time.time()
        if last_modified := response.headers.get("last-modified"):
            from email.utils import parsedate_to_datetime

            try:
                updated = parsedate_to_datetime(last_modified).timestamp()
            except (TypeError, ValueError):
                pass
        return response.content, updated, response.headers.get("content-type")

    def _prepare(self, source: Source, key: str, doc: Any, meta: dict[str, Any], replace: bool) -> _Pending:
        pieces = chunk_document(doc, self.chunk_tokens, self.overlap)
        item = _Pending(source, key, replace, [], [], [])
        for i, piece in enumerate(pieces):
            chunk_meta = dict(meta, section=" > ".join(piece.section), chunk=i)
            if i:
                chunk_meta.pop("blocks", None)
            if piece.page is not None:
                chunk_meta["page"] = piece.page
            item.ids.append(f"{key}-{i:05d}")
            item.texts.append(piece.text)
            item.metas.append(chunk_meta)
        return item

    async def _flush(self, coll: Any, pending: list[_Pending], report: IngestReport, collection: str) -> None:
        """Embed the pending documents' chunks in one call, then replace their old chunks and write them.

        If embedding fails (a provider error), every document of the group is reported and keeps its
        previous chunks; the rest of the run goes on. Chroma writes are batched (up to ADD_BATCH rows).
        """
        if not pending:
            return
        group = list(pending)
        pending.clear()
        ids = [cid for p in group for cid in p.ids]
        texts = [t for p in group for t in p.texts]
        metas = [m for p in group for m in p.metas]
        replaced = [p.key for p in group if p.replace]
        try:
            vectors = await self.embedder.embed([embed_text(m, t) for m, t in zip(metas, texts, strict=True)])
            if replaced:  # only now: a document whose new chunks cannot be embedded keeps its old ones
                await asyncio.to_thread(coll.delete, where={"doc": {"$in": replaced}})
            for start in range(0, len(ids), ADD_BATCH):
                end = start + ADD_BATCH
                await asyncio.to_thread(coll.add, ids=ids[start:end], embeddings=vectors[start:end],
                                        documents=texts[start:end], metadatas=metas[start:end])
        except Exception as exc:  # a provider or store error: report these documents, go on with the rest
            report.failed.extend((p.source.name, type(exc).__name__) for p in group)
            log.warning("ingest_write_failed", collection=collection, documents=len(group), error=type(exc).__name__)
            return
        report.chunks += len(ids)
        report.updated += len(replaced)
        report.added += len(group) - len(replaced)


def embed_text(meta: Mapping[str, Any], text: str) -> str:
    """What is embedded and keyword-indexed: title and section give a chunk its context."""
    head = " > ".join(p for p in (meta.get("title", ""), meta.get("section", "")) if p)
    return f"{head}\n{text}" if head else text
