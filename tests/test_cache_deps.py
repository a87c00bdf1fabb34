"""GPTCache must never pip-install anything: not at start-up, not while caching."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import gptcache.utils
import gptcache.utils.dependency_control
import pytest
import redis.asyncio as aioredis

from core.cache import CacheSettings
from core.cache.deps import check_backends
from core.errors import ConfigError
from tests.fakes.llm_server import FakeLLM, Reply
from tests.test_cache_engine import MODEL, build, final_of


async def test_no_package_is_installed_while_the_cache_starts_and_works(
        tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def guard(original: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            if "pip" in repr(args) or "install" in repr(args):
                attempts.append(args)
                raise AssertionError(f"a package install was attempted: {args!r}")
            return original(*args, **kwargs)
        return run

    for name in ("check_call", "call", "run", "Popen", "check_output"):
        monkeypatch.setattr(subprocess, name, guard(getattr(subprocess, name)))
    h = await build(tmp_path, redis, llm_server)
    try:
        llm_server.script(MODEL, Reply("Use the portal."))
        await h.ask("How do I reset my password?")
        assert final_of(await h.ask("How do I reset my password?", channel="C2")).cached
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()
    assert attempts == []
    # and GPTCache's installer is replaced by one that refuses with a clear message
    with pytest.raises(ConfigError, match="never installs packages"):
        gptcache.utils.prompt_install("hnswlib")
    with pytest.raises(ConfigError, match="never installs packages"):
        gptcache.utils.import_hnswlib()  # a backend we do not ship: refused, not installed


def test_missing_backend_packages_are_named_at_start_up() -> None:
    check_backends(CacheSettings())  # the default stores (sqlite + faiss) are declared dependencies
    with pytest.raises(ConfigError, match="pymilvus"):
        check_backends(CacheSettings(vector_store="milvus"))
    with pytest.raises(ConfigError, match="pymysql"):
        check_backends(CacheSettings(scalar_store="mysql", scalar_url="mysql+pymysql://db/cache"))
    # compose's shared store (PostgreSQL + pgvector) is installed with the lock
    check_backends(CacheSettings(scalar_store="postgresql", scalar_url="postgresql+psycopg2://db/cache",
                                 vector_store="pgvector"))
