"""The embedded redis-server on data dirs a user may really have."""

from __future__ import annotations

import os
from pathlib import Path

import redis.asyncio as aioredis

from core.state.embedded_redis import SOCKET_PATH_MAX, EmbeddedRedis


async def test_a_data_dir_too_deep_for_a_unix_socket_still_starts_and_keeps_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / ("deep-" * 12) / ("folder-" * 8)  # its redis.sock path is longer than a socket can be
    assert len(os.fsencode(data_dir / "redis.sock")) > SOCKET_PATH_MAX
    server = await EmbeddedRedis(data_dir).start()
    try:
        assert len(os.fsencode(server.socket_file)) <= SOCKET_PATH_MAX
        client = aioredis.Redis(unix_socket_path=server.socket_file, socket_connect_timeout=1, socket_timeout=1)
        await client.set("k", "kept")
        assert await client.get("k") == b"kept"
        await client.aclose()
    finally:
        server.stop()
    assert (data_dir / "redis.rdb").is_file()  # the data stays in the data dir; only the socket moved
    assert not Path(server.socket_file).parent.exists()  # the private socket folder goes with the server

    again = await EmbeddedRedis(data_dir).start()  # a restart reads the same data back
    try:
        client = aioredis.Redis(unix_socket_path=again.socket_file, socket_connect_timeout=1, socket_timeout=1)
        assert await client.get("k") == b"kept"
        await client.aclose()
    finally:
        again.stop()
