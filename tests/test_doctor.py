"""`deskmate doctor` as an operator runs it: one line per check, FAIL names what to fix, exit code 1 on any FAIL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from core.state.embedded_redis import EmbeddedRedis
from tests.fakes.llm_server import FakeLLM, Reply
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import TOKEN, FakeBotAPI


async def _doctor(tmp_path: Path, **env: str) -> tuple[int, dict[str, str]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    base.update({"DESKMATE_DATA_DIR": str(tmp_path / "var"), **env})
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bots.cli", "doctor"], env=base,
                                   capture_output=True, text=True, timeout=240)
    lines: dict[str, str] = {}
    for line in done.stdout.splitlines():
        status, rest = line.split(" ", 1)
        name = rest.strip().split("  ", 1)[0]
        lines[name] = f"{status} {rest.strip()}"
    return done.returncode, lines


async def test_every_part_ok_against_the_fakes(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script("openai/gpt-4o-mini", Reply("ok"))
    fake_tg = FakeBotAPI()
    await fake_tg.start()
    try:
        async with FakeSlack() as slack:
            code, lines = await _doctor(
                tmp_path, DESKMATE_LLM__MODEL="openai/gpt-4o-mini", DESKMATE_LLM__API_BASE=llm_server.base_url,
                DESKMATE_LLM__API_KEY="sk-test", DESKMATE_SLACK__BOT_TOKEN="xoxb-test",
                DESKMATE_SLACK__SIGNING_SECRET="s", DESKMATE_SLACK__API_URL=slack.base_url,
                DESKMATE_TELEGRAM__TOKEN=TOKEN, DESKMATE_TELEGRAM__API_URL=fake_tg.base_url)
    finally:
        await fake_tg.stop()
    assert code == 0, lines
    for name in ("settings", "redis", "vector store", "embedder", "pii analyzer", "llm openai/gpt-4o-mini",
                 "slack auth.test", "telegram getMe"):
        assert lines[name].startswith("ok "), lines[name]
    assert "Acme" in lines["slack auth.test"]


async def test_a_wrong_api_base_is_one_fail_line_naming_the_setting(tmp_path: Path) -> None:
    code, lines = await _doctor(tmp_path, DESKMATE_LLM__MODEL="openai/gpt-4o-mini",
                                DESKMATE_LLM__API_BASE="http://127.0.0.1:9/v1", DESKMATE_LLM__API_KEY="sk-test")
    assert code == 1
    line = lines["llm openai/gpt-4o-mini"]
    assert line.startswith("FAIL ") and "DESKMATE_LLM__API_BASE (http://127.0.0.1:9/v1)" in line
    assert "Connection" in line, "the cause is named, not just 'unavailable'"
    assert lines["redis"].startswith("ok ")


async def test_a_dead_redis_is_named(tmp_path: Path) -> None:
    server = await EmbeddedRedis(tmp_path / "r", port=0).start()
    socket = server.socket_file
    server.kill()  # a Redis that was there and is gone
    code, lines = await _doctor(tmp_path, DESKMATE_REDIS_URL=f"unix://{socket}")
    assert code == 1
    assert lines["redis"].startswith("FAIL ") and "DESKMATE_REDIS_URL" in lines["redis"]


async def test_bad_settings_are_a_fail_line_too(tmp_path: Path) -> None:
    code, lines = await _doctor(tmp_path, DESKMATE_LLM__TIMEOUT_S="-1")
    assert code == 1 and lines["settings"].startswith("FAIL ")
