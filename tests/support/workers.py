"""Real worker processes (the composition `deskmate serve --role worker` runs) sharing the test Redis: started in
parallel, each waits until it consumes; tests SIGKILL or SIGTERM them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from tests.support.queue import redis_url

WORKER = '''
import asyncio, os, signal, sys
from bots.settings import load_settings
from bots.composition import open_runtime

class RedisResponder:
    platform = "test"
    def __init__(self, redis):
        self.redis = redis
    async def respond(self, inbound, events):
        async for event in events:  # every event is "sent to the platform" as it comes
            await self.redis.rpush(f"sent:{inbound.message_id}", event.model_dump_json())

async def main():
    settings = load_settings()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with open_runtime(settings) as runtime:
        runtime.dispatcher.register(RedisResponder(runtime.redis))
        await runtime.dispatcher.start()
        await runtime.redis.set(f"worker-up:{os.environ['WORKER_NAME']}", b"1")
        await stop.wait()
        await runtime.dispatcher.drain(settings.queue.drain_s)
    return 0

sys.exit(asyncio.run(main()))
'''

SHARED_VAULT_KEY = "tDnVQUs-uARzdovnX1Rq8L3RrQvSvIw__9x-z1H5k0U="


ROOT = str(Path(__file__).resolve().parents[2])


async def start_workers(tmp_path: Path, redis: aioredis.Redis, llm_server, *names: str,
                        **env: str) -> list[asyncio.subprocess.Process]:
    """Start worker processes (in parallel) and wait until each one is consuming."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = []
    for name in names:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
        environ.update({
            "WORKER_NAME": name, "PYTHONPATH": ROOT,
            "DESKMATE_DATA_DIR": str(tmp_path / f"var-{name}"), "DESKMATE_REDIS_URL": redis_url(redis),
            "DESKMATE_LLM__MODEL": "openai/gpt-4o-mini", "DESKMATE_LLM__API_BASE": llm_server.base_url,
            "DESKMATE_LLM__API_KEY": "sk-test", "DESKMATE_LLM__NUM_RETRIES": "0", "DESKMATE_LOG_LEVEL": "warning",
            "DESKMATE_QUEUE__CLAIM_IDLE_S": "1.5", "DESKMATE_LIMITS__USER_PER_MINUTE": "0",
            "DESKMATE_PII__SPACY_MODEL": "",  # pattern recognizers only: faster start, same pipeline
            "DESKMATE_PII__VAULT_KEY": SHARED_VAULT_KEY,  # workers sharing a Redis share the vault key
        })
        environ.update(env)
        with (tmp_path / f"{name}.log").open("wb") as log_file:
            procs.append(await asyncio.create_subprocess_exec(
                sys.executable, str(script), env=environ, stdout=log_file, stderr=log_file))
    for name, proc in zip(names, procs, strict=True):
        for _ in range(2400):
            if await redis.get(f"worker-up:{name}"):
                break
            if proc.returncode is not None:
                raise AssertionError((tmp_path / f"{name}.log").read_text()[-3000:])
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"worker {name} did not start")
    return procs


async def sent(redis: aioredis.Redis, message_id: str) -> list[dict]:
    return [json.loads(raw) for raw in await redis.lrange(f"sent:{message_id}", 0, -1)]


async def wait_for(predicate, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")




def stop_processes(*procs: subprocess.Popen[bytes] | None) -> None:
    """Terminate what is still running (SIGKILL after 20 s)."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
