"""Redis connection: the configured server, or an embedded real redis-server under the data dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, TimeoutError

from core.state.embedded_redis import EmbeddedRedis

log = structlog.get_logger("deskmate.redis")

# Many answers in flight share one pool: wait for a free connection instead of failing.
MAX_CONNECTIONS = 256
POOL_WAIT_S = 10.0
# Surviving a Redis restart: a pooled connection idle longer than HEALTH_CHECK_S is PINGed before use (a stale
# one, left from before the restart, reconnects instead of failing the command), and a command that meets a
# broken connection is retried RETRIES times on a fresh one, backing off 0.1, 0.2, 0.4, 0.5, 0.5 s (~1.7 s in
# all: well inside the 3 s a Slack receiver has to answer). Redis does not answer within SOCKET_TIMEOUT_S:
# the command fails instead of hanging (XREADGROUP blocks 1 s at most).
HEALTH_CHECK_S = 2
RETRIES = 5
BACKOFF = ExponentialBackoff(cap=0.5, base=0.05)
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 1.0


def connection_options() -> dict[str, object]:
    """Keyword arguments for every connection of the pool (redis-py's public connection settings)."""
    return {
        "health_check_interval": HEALTH_CHECK_S,
        "retry": Retry(BACKOFF, RETRIES),
        "retry_on_error": [ConnectionError, TimeoutError, OSError],
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
    }


@asynccontextmanager
async def open_redis(url: str | None, data_dir: Path) -> AsyncIterator[aioredis.Redis]:
    """Yield an asyncio Redis client. With no URL, start an embedded redis-server and stop it on exit."""
    async with AsyncExitStack() as stack:
        if url:
            pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S,
                                                            **connection_options())
        else:
            embedded = await EmbeddedRedis(data_dir).start()
            stack.push_async_callback(asyncio.to_thread, embedded.stop)
            pool = aioredis.BlockingConnectionPool(
                connection_class=aioredis.UnixDomainSocketConnection, path=embedded.socket_file,
                max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_S, **connection_options())
        stack.push_async_callback(pool.aclose)
        client = aioredis.Redis(connection_pool=pool)
        stack.push_async_callback(client.aclose)
        await client.ping()
        yield client
