"""Shared fixtures: a real embedded Redis per test session, temp data dirs, captured logs."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

# No network at import, no hub downloads: set before anything imports litellm or transformers.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import pytest
import redis.asyncio as aioredis

from core.log import configure_logging
from core.state.redis import open_redis


@pytest.fixture(scope="session")
def ungated_profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped bot profiles with the evidence gate and follow-up rewriting off (`retrieval:` abstain false,
    rewrite off). Tests of platforms, tools, limits and PII ask questions the sample KB does not answer and script
    the fake model's replies one per call; they run on these. Answer-quality tests use the shipped profiles."""
    import yaml

    from bots.profile_loader import BUILTIN_DIR

    folder = tmp_path_factory.mktemp("profiles")
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["retrieval"] = {**(data.get("retrieval") or {}), "abstain": False, "rewrite": "off"}
        (folder / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ungated_profiles: Path) -> None:
    """Tests never read the developer's DESKMATE_* settings, and write data under a temp dir."""
    for name in list(os.environ):
        if name.startswith("DESKMATE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DESKMATE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DESKMATE_PROFILES_DIR", str(ungated_profiles))


@pytest.fixture(autouse=True, scope="session")
def _quiet_logs() -> None:
    """Structured logs go nowhere unless a test captures them with the `logs` fixture."""
    configure_logging("warning", "json", io.StringIO())


@pytest.fixture(scope="session")
async def redis_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[aioredis.Redis]:
    async with open_redis(None, tmp_path_factory.mktemp("redis")) as client:
        yield client


@pytest.fixture
async def redis(redis_server: aioredis.Redis) -> AsyncIterator[aioredis.Redis]:
    """The real embedded Redis, emptied before each test; after it, no queue consumer of that test may run on.

    All tests share one event loop and one Redis. A consumer a test left running would take the next tests'
    queued messages (it cannot decrypt them: another vault key, so they stay pending and the next test waits
    forever). Such leftovers are cancelled here and named at the end of the run (LEFT_RUNNING)."""
    await redis_server.flushdb()
    yield redis_server
    leftovers = [t for t in asyncio.all_tasks() if not t.done() and t.get_name().startswith(QUEUE_TASKS)]
    for task in leftovers:
        task.cancel()
    if leftovers:
        await asyncio.wait(leftovers, timeout=5)
        LEFT_RUNNING.append(f"{os.environ.get('PYTEST_CURRENT_TEST', '?')}: {[t.get_name() for t in leftovers]}")


QUEUE_TASKS = ("queue-consumer:", "queue-lag-probe:", "queue-spool:", "answer:", "edits-watch:")
LEFT_RUNNING: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LEFT_RUNNING:
        terminalreporter.write_line(f"queue tasks left running by a test and cancelled ({len(LEFT_RUNNING)}):")
        for line in LEFT_RUNNING:
            terminalreporter.write_line(f"  {line}")


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """Structured logs as JSON lines, captured for assertions."""
    capture = LogCapture()
    configure_logging("debug", "json", capture.stream)
    yield capture
    configure_logging("warning", "json", io.StringIO())
from tests.fakes.llm_server import llm_server  # noqa: E402, F401  (the fake OpenAI-compatible provider)
from tests.fakes.telegram_api import telegram_api  # noqa: E402, F401  (the fake Telegram Bot API server)


@pytest.fixture(scope="session")
def masker() -> Any:
    """The default masker (English and Russian analyzers, no vault), built once for the PII tests."""
    from core.pii.analyzer import build_analyzer
    from core.pii.masker import Masker
    from core.pii.settings import PiiSettings

    return Masker(build_analyzer(PiiSettings()), vault=None)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def embedder() -> Any:
    """The local embedding model, loaded once for the whole session (~7 s)."""
    from core.knowledge.embeddings import LocalEmbedder

    model = LocalEmbedder()
    await model.warm()
    return model


@pytest.fixture
async def kb(tmp_path: Path, redis: aioredis.Redis, embedder: Any) -> AsyncIterator[Any]:
    """A knowledge base (embedded Chroma under a temp dir) on the shared local model."""
    from core.knowledge.build import open_knowledge
    from core.knowledge.settings import ChromaSettings, EmbeddingsSettings

    knowledge = await open_knowledge(EmbeddingsSettings(), ChromaSettings(), tmp_path / "var", redis)
    yield knowledge
    await knowledge.aclose()
