"""A real redis-server on a fixed TCP port that a test (or bench_faults) kills with SIGKILL and starts again there."""

from __future__ import annotations

import socket
from pathlib import Path

from core.state.embedded_redis import EmbeddedRedis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RestartableRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.server: EmbeddedRedis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> RestartableRedis:
        self.server = await EmbeddedRedis(self.data_dir, port=self.port).start()
        return self

    def kill(self) -> None:
        """kill -9: no save, every client connection breaks."""
        if self.server is not None:
            self.server.kill()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    async def __aenter__(self) -> RestartableRedis:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
