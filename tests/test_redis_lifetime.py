"""The embedded redis-server never outlives the process that started it: piped chat, Ctrl-C, SIGTERM, SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _servers_under(data_dir: Path) -> list[int]:
    """Pids of running redis-server processes whose socket lives under `data_dir`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()  # redis-server retitles itself "redis-server unixsocket:…"
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if state != "Z" and b"redis-server" in cmdline and str(data_dir).encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKMATE_")}
    env["DESKMATE_DATA_DIR"] = str(data_dir)
    return env


OWNER = (
    "import asyncio, sys\n"
    "from pathlib import Path\n"
    "from core.state.redis import open_redis\n"
    "async def main():\n"
    "    async with open_redis(None, Path(sys.argv[1])) as r:\n"
    "        await r.set('k', 'v')\n"
    "        print('up', flush=True)\n"
    "        await asyncio.sleep(120)\n"
    "asyncio.run(main())\n"
)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_owner_takes_its_redis_server_with_it(tmp_path: Path, how: signal.Signals) -> None:
    data = tmp_path / "var"
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(data)], stdout=subprocess.PIPE, text=True,
                             env=_env(data))
    try:
        assert owner.stdout is not None
        assert any(line.strip() == "up" for line in iter(owner.stdout.readline, "")), "the owner did not start"
        assert len(_servers_under(data)) == 1
        owner.send_signal(how)
        owner.wait(timeout=30)
        assert _wait_until(lambda: not _servers_under(data)), f"redis-server left running after {how.name}"
    finally:
        owner.kill()


def test_piped_chat_leaves_no_redis_server(tmp_path: Path) -> None:
    data = tmp_path / "var"
    done = subprocess.run([sys.executable, "-m", "bots.cli", "chat"], input="How do I reset my password?\n",
                          capture_output=True, text=True, timeout=240, env=_env(data))
    assert done.returncode == 0, done.stderr
    assert "password" in done.stdout.lower()
    assert not _servers_under(data)


async def test_serve_stops_its_redis_on_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = _env(data) | {"DESKMATE_HTTP__PORT": "0"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bots.cli", "serve", env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        for _ in range(600):
            if _servers_under(data) or proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert _servers_under(data), f"serve started no embedded redis: {proc.returncode}"
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
        assert await asyncio.to_thread(_wait_until, lambda: not _servers_under(data))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_what_was_written_survives_a_clean_restart(tmp_path: Path) -> None:
    from core.state.redis import open_redis

    async with open_redis(None, tmp_path / "var") as client:
        await client.set("conversation", "kept")
    async with open_redis(None, tmp_path / "var") as client:
        assert await client.get("conversation") == b"kept"
