"""Update middlewares: each update is handled once (across retries, restarts and workers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update
from redis.exceptions import RedisError

from core.dedupe import first_delivery
from core.state.keys import key

log = structlog.get_logger("deskmate.telegram")


class DedupeMiddleware(BaseMiddleware):
    """Claim `telegram:<bot_id>:<update_id>` in Redis before handling; a repeat delivery is dropped.

    If handling fails, the claim is released so Telegram's redelivery (webhook retry, or the same batch
    fetched again by polling after a restart) is handled instead of lost.
    """

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        bot: Bot = data["bot"]
        delivery = f"{bot.id}:{event.update_id}"
        try:
            first = await first_delivery(self.redis, "telegram", delivery)
        except (RedisError, OSError) as exc:
            if data.get("webhook", False):  # the webhook answers 503: Telegram delivers it again
                raise
            # Polling has confirmed the offset already: no redelivery will come. Handle it; the queue holds it
            # locally until Redis is back and recognises it by its message id if it was queued before.
            log.warning("telegram_redis_unreachable", update_id=event.update_id, error=type(exc).__name__)
            return await handler(event, data)
        if not first:
            log.info("telegram_duplicate_update", update_id=event.update_id, bot_id=bot.id)
            return None
        try:
            return await handler(event, data)
        except Exception:
            await self.redis.delete(key("seen", "telegram", delivery))
            raise
