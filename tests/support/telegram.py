"""A running Deskmate with Telegram against the fake Bot API and the fake LLM (shared by the Telegram tests)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.telegram.platform import TelegramPlatform
from bots.commands.serve import build_platforms
from bots.composition import Runtime, open_runtime
from bots.settings import load_settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.telegram_api import TOKEN, FakeBotAPI

SECRET = "webhook-secret-123"
ADMIN_ID = 1001


@dataclass
class Deskmate:
    runtime: Runtime
    platform: TelegramPlatform
    server: TestServer | None
    fake: FakeBotAPI
    llm: FakeLLM

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        assert self.server is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with aiohttp.ClientSession() as http, http.post(
            self.server.make_url("/telegram/webhook"), json=update, headers=headers,
        ) as resp:
            return resp.status

    async def settle(self, within_s: float = 60.0) -> None:
        """Wait until every submitted answer has been rendered (queue empty, nothing in flight). A wait, not a
        speed check: the deadline only ends a hang (a loaded CI machine ran a 3 s answer past 15 s)."""
        dispatcher = self.runtime.dispatcher
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while await self._in_flight(dispatcher):
            if loop.time() > deadline:
                raise AssertionError(f"answers still in flight after {within_s} s: {describe(dispatcher)}")
            await asyncio.sleep(0.02)

    async def _in_flight(self, dispatcher: Any) -> bool:
        if getattr(dispatcher, "tasks", ()):
            return True
        stream = getattr(dispatcher, "stream", None)  # the Redis Stream dispatcher: entries are deleted when done
        return bool(stream and await self.runtime.redis.xlen(stream))


def describe(dispatcher: Any) -> str:
    """What is in flight, for the failure message."""
    tasks = getattr(dispatcher, "tasks", ())
    running = tasks.values() if isinstance(tasks, dict) else tasks
    return ", ".join(t.get_name() for t in running if hasattr(t, "get_name")) or "the queue is not empty"


def telegram_env(monkeypatch: pytest.MonkeyPatch, fake: FakeBotAPI, llm: FakeLLM, redis: aioredis.Redis,
                 mode: str = "webhook", **extra: str) -> None:
    path = redis.connection_pool.connection_kwargs["path"]
    values = {
        "DESKMATE_REDIS_URL": f"unix://{path}",
        "DESKMATE_LLM__MODEL": "openai/gpt-4o-mini", "DESKMATE_LLM__API_BASE": llm.base_url,
        "DESKMATE_LLM__API_KEY": "sk-test", "DESKMATE_LLM__NUM_RETRIES": "0",
        "DESKMATE_TELEGRAM__TOKEN": TOKEN, "DESKMATE_TELEGRAM__API_URL": fake.base_url,
        "DESKMATE_TELEGRAM__MODE": mode, "DESKMATE_TELEGRAM__WEBHOOK_URL": "https://deskmate.test/telegram/webhook",
        "DESKMATE_TELEGRAM__WEBHOOK_SECRET": SECRET, "DESKMATE_TELEGRAM__ADMIN_USERS": str(ADMIN_ID),
        "DESKMATE_TELEGRAM__DRAFT_INTERVAL_S": "0.1", "DESKMATE_TELEGRAM__EDIT_INTERVAL_S": "0.2",
        "DESKMATE_TELEGRAM__POLLING_TIMEOUT_S": "1",
    }
    values.update({f"DESKMATE_TELEGRAM__{k.upper()}": v for k, v in extra.items()})
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@asynccontextmanager
async def running(fake: FakeBotAPI, llm: FakeLLM) -> AsyncIterator[Deskmate]:
    settings = load_settings()
    async with open_runtime(settings) as runtime:
        web_app = web.Application()
        [platform] = build_platforms(settings, runtime, web_app)  # as `deskmate serve` does (notifier too)
        server = TestServer(web_app) if settings.telegram.mode == "webhook" else None
        if server is not None:
            await server.start_server()
        else:
            runner = web.AppRunner(web_app)
            await runner.setup()
        await platform.start()
        app = Deskmate(runtime, platform, server, fake, llm)
        try:
            yield app
        finally:
            await platform.stop()
            await app.settle()
            if server is not None:
                await server.close()
            else:
                await runner.cleanup()
