"""Exactly one visible answer across a worker crash: a real `deskmate serve --role worker` process is killed with
SIGKILL while it streams an answer into a Telegram group; a second worker takes the message over (queue
redelivery) and finishes the *same* Telegram message instead of sending a second one. Real Redis, the fake
Bot API and the fake LLM; the receiver runs in this process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from tests.fakes.llm_server import Reply
from tests.fakes.telegram_api import BOT_USERNAME
from tests.support.telegram import running, telegram_env

ROOT = Path(__file__).resolve().parents[1]
GROUP = -100777888


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DESKMATE_HTTP__PORT": str(_free_port()), "DESKMATE_QUEUE__CLAIM_IDLE_S": "2",
           "DESKMATE_DATA_DIR": str(tmp_path / name)}
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "bots.cli", "serve", "--role", "worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


async def test_worker_killed_mid_stream_leaves_one_complete_message(telegram_api, llm_server, redis, monkeypatch,
                                                                     tmp_path):
    telegram_env(monkeypatch, telegram_api, llm_server, redis, EDIT_INTERVAL_S="0.3")
    monkeypatch.setenv("DESKMATE_QUEUE__ROLE", "receiver")  # this process receives; workers answer
    monkeypatch.setenv("DESKMATE_QUEUE__CLAIM_IDLE_S", "2")
    monkeypatch.setenv("DESKMATE_PII__VAULT_KEY", Fernet.generate_key().decode())  # shared by every worker
    answer = " ".join(f"step{i}" for i in range(160)) + "."
    llm_server.responder = lambda body: Reply(answer, ttft_s=0.2, chunk_delay_s=0.04)  # ~6.5 s of streaming
    first = _worker(tmp_path, "worker-a")
    second: subprocess.Popen[bytes] | None = None
    try:
        async with running(telegram_api, llm_server) as app:
            tag = f"@{BOT_USERNAME}"
            update = telegram_api.message_update(GROUP, f"{tag} explain every step",
                                                 entities=[{"type": "mention", "offset": 0, "length": len(tag)}])
            question = update["message"]["message_id"]
            assert await app.post(update) == 200

            def shown() -> list:
                return [m for m in telegram_api.chat_messages(GROUP) if m.reply_to == question]

            # the first worker starts, streams into a message, and dies in the middle of it
            await telegram_api.wait_for(lambda: bool(shown()) and shown()[0].edits >= 1, within_s=120)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            half = shown()[0].text
            assert 0 < len(half) < len(answer), "killed mid-stream"
            second = _worker(tmp_path, "worker-b")
            await telegram_api.wait_for(lambda: any(m.reply_markup for m in telegram_api.chat_messages(GROUP)),
                                        within_s=120)
            await asyncio.sleep(1.0)  # anything else the second worker would send arrives by now

        bot_messages = telegram_api.chat_messages(GROUP)
        assert len(bot_messages) == 1, [m.text[:40] for m in bot_messages]
        [message] = bot_messages
        assert message.reply_to == question
        assert message.text.startswith(answer), "the half-written message now holds the whole answer"
        assert message.reply_markup is not None, "with its feedback buttons"
        assert len(llm_server.requests_for("gpt-4o-mini")) >= 2, "the second worker answered anew"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
