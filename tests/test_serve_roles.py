"""`deskmate serve --role ...` as an orchestrator runs it: /readyz asks what that role needs, so a worker's readiness
probe passes (it does not receive platform events) and a receiver's does not wait for a queue consumer."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from tests.fakes.slack_api import SECRET, FakeSlack
from tests.support.queue import redis_url
from tests.support.workers import ROOT, SHARED_VAULT_KEY


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(tmp_path: Path, redis: aioredis.Redis, slack: FakeSlack, role: str) -> tuple[int, dict]:
    """Start `deskmate serve --role <role>`, wait for /readyz to answer 200, SIGTERM it; (exit code, readyz body)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    env.update({
        "PYTHONPATH": ROOT, "DESKMATE_DATA_DIR": str(tmp_path / f"var-{role}"), "DESKMATE_REDIS_URL": redis_url(redis),
        "DESKMATE_HTTP__PORT": str(port), "DESKMATE_PII__SPACY_MODEL": "", "DESKMATE_PII__VAULT_KEY": SHARED_VAULT_KEY,
        "DESKMATE_SLACK__BOT_TOKEN": "xoxb-test", "DESKMATE_SLACK__SIGNING_SECRET": SECRET,
        "DESKMATE_SLACK__API_URL": slack.base_url, "DESKMATE_LOG_LEVEL": "warning",
    })
    log = tmp_path / f"{role}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bots.cli", "serve", "--role", role,
                                                    env=env, stdout=out, stderr=out)
    body: dict = {}
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(1200):
                if proc.returncode is not None:
                    raise AssertionError(log.read_text()[-3000:])
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                        body = await resp.json()
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"/readyz never 200 for --role {role}: {body}")
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
    return code, body


async def test_a_worker_is_ready_without_receiving_and_a_receiver_without_consuming(
        tmp_path: Path, redis: aioredis.Redis) -> None:
    async with FakeSlack() as slack:
        worker = await _serve(tmp_path, redis, slack, "worker")
        receiver = await _serve(tmp_path, redis, slack, "receiver")
    assert worker[0] == 0 and receiver[0] == 0  # both stop cleanly on SIGTERM
    assert worker[1]["ready"] is True and worker[1]["checks"]["queue_consumer"] is True
    assert "platform:slack" not in worker[1]["checks"]  # the worker does not receive Slack events
    assert receiver[1]["checks"]["platform:slack"] is True and "queue_consumer" not in receiver[1]["checks"]
    assert {"redis", "vector_store"} <= set(worker[1]["checks"]) & set(receiver[1]["checks"])
