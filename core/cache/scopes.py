"""The open scope stores of one process: one worker thread, one lock, an LRU of open scopes, old KB versions dropped.

Each scope (core/cache/store.py) has its own GPTCache stores; they are used by one thread at a time. A write runs
on the cache's worker thread; a read of an open local scope (sqlite + faiss under the data dir, a few ms) runs on
the event loop when the stores are free, because a thread hop costs 3-4x the read itself. Opening the current
version of a partition (platform + tenant + bot + language + audience) drops its older KB versions, on disk too.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import structlog

from core.cache.settings import CacheSettings
from core.cache.store import Scope, ScopeStore

log = structlog.get_logger("deskmate.cache")
T = TypeVar("T")


class ScopeStores:
    def __init__(self, settings: CacheSettings, root: Path, dim: Callable[[], int]) -> None:
        self.settings = settings
        self.root = root
        self._dim = dim  # the embedding dimension, asked when the first store opens
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskmate-cache")
        self._lock = threading.Lock()  # the stores are used by one thread at a time
        self._local = settings.scalar_url is None and settings.vector_store == "faiss"  # files under the data dir
        self._scopes: OrderedDict[Scope, ScopeStore] = OrderedDict()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the worker thread, holding the stores' lock."""
        def locked() -> T:
            with self._lock:
                return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self._executor, locked)

    async def read(self, scope: Scope, fn: Callable[[ScopeStore], T]) -> T:
        """An open local scope's read (a few ms) on the loop if the stores are free (a thread hop costs 3-4x)."""
        if self._local and scope in self._scopes and self._lock.acquire(blocking=False):
            try:
                if scope in self._scopes:
                    return fn(self.open(scope, current=True))
            finally:
                self._lock.release()
        return await self.run(lambda: fn(self.open(scope, current=True)))

    def open(self, scope: Scope, current: bool) -> ScopeStore:
        """The scope's store (under the lock). `current`: also drop the partition's other KB versions."""
        store = self._scopes.get(scope)
        if store is None:
            if current:
                self._drop_old_versions(scope)
            store = ScopeStore(scope, self.settings, self._dim(), self.root)
            self._scopes[scope] = store
            while len(self._scopes) > self.settings.max_open_scopes:
                _, oldest = self._scopes.popitem(last=False)
                oldest.close()
        self._scopes.move_to_end(scope)
        return store

    def _drop_old_versions(self, scope: Scope) -> None:
        for other in [s for s in self._scopes if s.partition == scope.partition and s != scope]:
            self._scopes.pop(other).drop()
            log.info("cache_scope_invalidated", platform=other.platform, tenant=other.tenant, bot=other.bot)
        partition_dir = self.root / scope.partition
        if self.settings.scalar_url is None and partition_dir.is_dir():
            for child in partition_dir.iterdir():
                if child.is_dir() and child.name != scope.version:
                    shutil.rmtree(child, ignore_errors=True)
                    log.info("cache_scope_invalidated", platform=scope.platform, tenant=scope.tenant, bot=scope.bot)

    async def aclose(self) -> None:
        def close_all() -> None:
            while self._scopes:
                _, store = self._scopes.popitem()
                store.close()

        await self.run(close_all)
        self._executor.shutdown(wait=True)
