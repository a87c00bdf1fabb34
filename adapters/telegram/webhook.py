"""POST /telegram/webhook: the secret token first, then a body that parses, then the Dispatcher.

Replaces aiogram's SimpleRequestHandler (which parses before it can fail cleanly: malformed JSON or invalid
UTF-8 became a 500 with a traceback). Each outcome is one log line and a clear status:
  wrong or missing X-Telegram-Bot-Api-Secret-Token   -> 401 (compared in constant time, before reading)
  too large (aiohttp's client_max_size)              -> 413
  not UTF-8, not a JSON object, not an Update        -> 400
  Redis unreachable                                  -> 503: Telegram keeps the update and delivers it again
  handled (queued)                                   -> 200 only then, so a crash before that is a redelivery
Strings are cleaned (lone surrogates, control characters: core/ops/clean.py) before aiogram sees them.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from redis.exceptions import RedisError

from core.ops.clean import clean_value, is_clean

log = structlog.get_logger("deskmate.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _reject(status: int, reason: str, request: web.Request, **extra: Any) -> web.Response:
    log.info("telegram_request_rejected", status=status, reason=reason, bytes=request.content_length, **extra)
    return web.json_response({"ok": False, "error": reason}, status=status)


class TelegramWebhook:
    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str, **data: Any) -> None:
        if not secret_token:
            raise ValueError("a webhook needs a secret token")
        self.dispatcher = dispatcher
        self.bot = bot
        self.secret = secret_token
        self.data = {**data, "webhook": True}  # the dedupe middleware: Redis down -> 503 and a redelivery

    def register(self, app: web.Application, path: str) -> None:
        app.router.add_post(path, self.handle)
        app.on_shutdown.append(self._close)

    async def _close(self, _: web.Application) -> None:
        await self.bot.session.close()

    async def handle(self, request: web.Request) -> web.Response:
        if not secrets.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), self.secret.encode()):
            return _reject(401, "bad_secret", request)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, "too_large", request)
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            return _reject(400, "not_utf8", request)
        except (ValueError, RecursionError):
            return _reject(400, "malformed_json", request)
        if not isinstance(data, dict):
            return _reject(400, "not_an_object", request)
        if not is_clean(data):
            log.info("telegram_body_cleaned")
            data = clean_value(data)
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except (ValidationError, ValueError, TypeError, RecursionError):
            return _reject(400, "not_an_update", request)
        try:
            result = await self.dispatcher.feed_webhook_update(self.bot, update, **self.data)
        except (RedisError, OSError) as exc:
            return _reject(503, "state_unreachable", request, error=type(exc).__name__, update_id=update.update_id)
        except Exception as exc:  # an update our handlers cannot read: Telegram delivers it again later
            return _reject(400, "unhandled_update", request, error=type(exc).__name__, update_id=update.update_id)
        if isinstance(result, TelegramMethod):  # a handler answered in the webhook response: send it instead
            await self.dispatcher.silent_call_request(bot=self.bot, result=result)
        return web.json_response({})
