"""Chroma access (embedded PersistentClient or a Chroma server) and the per-collection version counter.

One Chroma collection per knowledge collection (`kb_<name>`), cosine space, embeddings always given
explicitly (Chroma's default embedding function downloads a model and fails offline). The collection
metadata records the embedding model it was built with. Chroma's client is synchronous: every call
runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import redis.asyncio as aioredis

from core.knowledge.errors import KnowledgeError, ModelMismatch, check_collection_name
from core.knowledge.settings import ChromaSettings
from core.state.keys import key

PREFIX = "kb_"
SHARED = "*"  # tenant / access group value meaning "everyone"
GET_PAGE = 5000


def open_client(chroma: ChromaSettings, data_dir: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaClientSettings

    client_settings = ChromaClientSettings(anonymized_telemetry=False)
    if chroma.url:
        url = urlparse(chroma.url)
        port = url.port or (443 if url.scheme == "https" else 8000)
        return chromadb.HttpClient(host=url.hostname or "localhost", port=port, ssl=url.scheme == "https",
                                   settings=client_settings)
    path = data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=client_settings)


class Store:
    def __init__(self, client: Any, redis: aioredis.Redis) -> None:
        self.client = client
        self.redis = redis

    # --- collections -----------------------------------------------------------------------------
    def _get_sync(self, name: str) -> Any | None:
        try:
            return self.client.get_collection(PREFIX + name, embedding_function=None)
        except Exception:  # chromadb raises NotFoundError/ValueError depending on the backend
            return None

    async def get(self, name: str) -> Any | None:
        return await asyncio.to_thread(self._get_sync, check_collection_name(name))

    async def open(self, name: str, model_id: str, dim: int) -> Any:
        """Get or create the collection; refuse if it was built with another embedding model."""
        check_collection_name(name)
        coll = await self.get(name)
        if coll is None:
            meta = {"deskmate": "kb", "kb_name": name, "embedding_model": model_id, "dim": dim}
            coll = await asyncio.to_thread(
                self.client.get_or_create_collection, PREFIX + name, metadata=meta,
                configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            )
        self.check_model(name, coll, model_id)
        return coll

    @staticmethod
    def check_model(name: str, coll: Any, model_id: str) -> None:
        built_with = (coll.metadata or {}).get("embedding_model")
        if built_with and built_with != model_id:
            raise ModelMismatch(
                f"collection {name!r} was built with embedding model {built_with!r}, not {model_id!r}; "
                f"run `deskmate kb reembed {name}` to rebuild it with the current model"
            )

    async def names(self) -> list[str]:
        colls = await asyncio.to_thread(self.client.list_collections)
        return sorted(c.name[len(PREFIX):] for c in colls if c.name.startswith(PREFIX) and "__" not in c.name)

    async def drop(self, name: str) -> bool:
        check_collection_name(name)
        if await self.get(name) is None:
            return False
        await asyncio.to_thread(self.client.delete_collection, PREFIX + name)
        await self.bump(name)
        return True

    # --- rows ------------------------------------------------------------------------------------
    @staticmethod
    def get_all_sync(coll: Any, include: Sequence[str], where: dict[str, Any] | None = None) -> dict[str, list[Any]]:
        """Every row (paged), as {"ids": [...], <include>: [...]}."""
        out: dict[str, list[Any]] = {"ids": [], **{k: [] for k in include}}
        offset = 0
        while True:
            page = coll.get(where=where, include=list(include), limit=GET_PAGE, offset=offset)
            out["ids"].extend(page["ids"])
            for k in include:
                values = page.get(k)
                out[k].extend(list(values) if values is not None else [None] * len(page["ids"]))
            if len(page["ids"]) < GET_PAGE:
                return out
            offset += GET_PAGE

    # --- versions --------------------------------------------------------------------------------
    async def bump(self, name: str) -> int:
        """Mark a collection as re-indexed (caches keyed on kb_version and BM25 indexes go stale)."""
        return int(await self.redis.incr(key("kb", "version", name)))

    async def versions(self, names: Sequence[str]) -> list[int]:
        if not names:
            return []
        raw = await self.redis.mget([key("kb", "version", n) for n in names])
        return [int(v) if v is not None else 0 for v in raw]

    async def kb_version(self, tenant: str, names: Sequence[str], model_id: str) -> str:
        ordered = sorted(set(names))
        versions = await self.versions(ordered)
        basis = "|".join([tenant, model_id, *(f"{n}={v}" for n, v in zip(ordered, versions, strict=True))])
        return hashlib.sha256(basis.encode()).hexdigest()[:16]


def tenant_where(tenant: str | None) -> dict[str, Any] | None:
    return {"tenant": {"$in": [tenant, SHARED]}} if tenant else None


def and_where(conditions: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


__all__ = ["SHARED", "KnowledgeError", "Store", "and_where", "open_client", "tenant_where"]
