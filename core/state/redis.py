"""Redis connection: the configured server, or an embedded real redis-server under the data dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis
import structlog

from core.state.embedded_redis import EmbeddedRedis

log = structlog.get_logger("deskmate.redis")

# Many answers in flight share one pool: wait for a free connection instead of failing.
MAX_CONNECTIONS = 256
POOL_WAIT_S = 10.0


@asynccontextmanager
async def open_redis(url: str | None, data_dir: Path) -> AsyncIterator[aioredis.Redis]:
    """Yield an asyncio Redis client. With no URL, start an embedded redis-server and stop it on exit."""
    async with AsyncExitStack() as stack:
        if url:
            pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S)
        else:
            embedded = await EmbeddedRedis(data_dir).start()
            stack.push_async_callback(asyncio.to_thread, embedded.stop)
            pool = aioredis.BlockingConnectionPool(
                connection_class=aioredis.UnixDomainSocketConnection, path=embedded.socket_file,
                max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S)
        stack.push_async_callback(pool.aclose)
        client = aioredis.Redis(connection_pool=pool)
        stack.push_async_callback(client.aclose)
        await client.ping()
        yield client
