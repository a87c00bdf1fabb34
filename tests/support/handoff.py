"""One Deskmate serving Telegram customers and a Slack operator inbox, against the fake Bot API, fake Slack and the
fake LLM (real Redis, real stages): what the handoff tests drive."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from bots.commands.serve import build_platforms
from bots.composition import Runtime, open_runtime
from bots.profile_loader import BUILTIN_DIR
from bots.settings import load_settings
from tests.fakes.llm_server import FakeLLM
from tests.fakes.slack_api import SECRET as SLACK_SECRET
from tests.fakes.slack_api import FakeSlack, SlackRig, wait_for
from tests.fakes.telegram_api import FakeBotAPI
from tests.support.telegram import SECRET, describe, telegram_env

INBOX = "CINBOX"
AGENT = "UAGENT"


def handoff_profiles(folder: Path, abstain: bool = False, **handoff: Any) -> Path:
    """The shipped profiles, evidence gate off unless `abstain` (as the other platform tests), with a `handoff:`
    section."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["retrieval"] = {**(data.get("retrieval") or {}), "abstain": abstain, "rewrite": "off"}
        if handoff:
            data["handoff"] = handoff
        (folder / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@dataclass
class Rig:
    runtime: Runtime
    telegram: FakeBotAPI
    slack: FakeSlack
    slack_rig: SlackRig
    server: TestServer

    async def tg(self, update: dict[str, Any]) -> None:
        async with aiohttp.ClientSession() as http, http.post(
                self.server.make_url("/telegram/webhook"), json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as resp:
            assert resp.status == 200

    async def settle(self) -> None:
        dispatcher = self.runtime.dispatcher
        async def busy() -> bool:
            stream = getattr(dispatcher, "stream", None)
            return bool(getattr(dispatcher, "tasks", ()) or (stream and await self.runtime.redis.xlen(stream)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60  # a wait, not a speed check: the deadline only ends a hang
        while await busy():
            if loop.time() > deadline:
                raise AssertionError(f"answers still in flight after 60 s: {describe(dispatcher)}")
            await asyncio.sleep(0.02)

    def texts_to(self, chat_id: int) -> list[str]:
        return [m.text for m in self.telegram.chat_messages(chat_id)]

    def inbox_roots(self) -> list[Any]:
        return [m for m in self.slack.channel_messages(INBOX) if not m.thread_ts]

    def thread(self, root_ts: str) -> list[str]:
        return [m.text for m in self.slack.messages.values()
                if m.channel == INBOX and m.thread_ts == root_ts and m.ts != root_ts]

    async def agent_says(self, root_ts: str, body: str, user: str = AGENT) -> str:
        ts = self.slack_rig.next_ts()
        await self.slack_rig.event({"type": "message", "channel": INBOX, "user": user, "text": body, "ts": ts,
                                    "thread_ts": root_ts, "team": "T1", "event_ts": ts, "channel_type": "channel"})
        return ts

    async def press(self, action_id: str, root_ts: str, value: str = "x", user: str = AGENT) -> None:
        await self.slack_rig.click(action_id, value, INBOX, root_ts, root_ts, user=user)

    def buttons(self, ts: str) -> list[str]:
        blocks = self.slack.messages[ts].blocks
        return [e["action_id"] for b in blocks if b.get("type") == "actions" for e in b["elements"]]


@asynccontextmanager
async def handoff_rig(telegram: FakeBotAPI, llm: FakeLLM, redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch,
                      profiles: Path, **handoff_env: str) -> AsyncIterator[Rig]:
    telegram_env(monkeypatch, telegram, llm, redis)
    async with FakeSlack() as slack:
        env = {"DESKMATE_SLACK__BOT_TOKEN": "xoxb-test", "DESKMATE_SLACK__SIGNING_SECRET": SLACK_SECRET,
               "DESKMATE_SLACK__API_URL": slack.base_url, "DESKMATE_HANDOFF__INBOX_CHANNEL": INBOX,
               "DESKMATE_PROFILES_DIR": str(profiles),
               **{f"DESKMATE_HANDOFF__{k.upper()}": v for k, v in handoff_env.items()}}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        async with open_runtime(settings) as runtime:
            web_app = web.Application()
            platforms = build_platforms(settings, runtime, web_app)
            server = TestServer(web_app)
            await server.start_server()
            for platform in platforms:
                await platform.start()
            try:
                async with aiohttp.ClientSession() as session:
                    slack_rig = SlackRig(slack, runtime, platforms[0], str(server.make_url("/slack/events")),
                                         session)
                    rig = Rig(runtime, telegram, slack, slack_rig, server)
                    yield rig
                    await rig.settle()
            finally:
                for platform in platforms:
                    await platform.stop()
                await server.close()


__all__ = ["AGENT", "INBOX", "Rig", "handoff_profiles", "handoff_rig", "json", "wait_for"]
