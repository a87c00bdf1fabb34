"""The Telegram platform: one aiogram Bot (a tenant), its Dispatcher, and polling or the webhook route."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from adapters.telegram.admin import publish_menus
from adapters.telegram.handlers import build_router
from adapters.telegram.handoff import TelegramCustomerChannel, handoff_router
from adapters.telegram.middlewares import DedupeMiddleware
from adapters.telegram.notifier import TelegramNotifier
from adapters.telegram.responder import TelegramResponder
from adapters.telegram.settings import TelegramSettings
from adapters.telegram.stop import stop_router
from adapters.telegram.webhook import TelegramWebhook
from core.services import Services

log = structlog.get_logger("deskmate.telegram")

WEBHOOK_PATH = "/telegram/webhook"


def build_bot(settings: TelegramSettings) -> Bot:
    assert settings.token is not None, "DESKMATE_TELEGRAM__TOKEN is not set"
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_url))
    return Bot(settings.token.get_secret_value(), session=session)


class TelegramPlatform:
    name = "telegram"

    def __init__(self, settings: TelegramSettings, services: Services, bot: Bot, dispatcher: Dispatcher) -> None:
        self.settings = settings
        self.services = services
        self.bot = bot
        self.dispatcher = dispatcher
        self.responder = TelegramResponder(bot, settings, services)
        self.notifier = TelegramNotifier(bot)  # escalation notes to a chat (registered by `serve`)
        self._polling: asyncio.Task[None] | None = None
        self._started = False

    async def start(self) -> None:
        me = await self.bot.me()
        log.info("telegram_starting", bot_id=me.id, mode=self.settings.mode)
        await publish_menus(self.bot, self.settings)
        if self.settings.mode == "webhook":
            assert self.settings.webhook_url and self.settings.webhook_secret is not None
            await self.bot.set_webhook(
                url=self.settings.webhook_url, secret_token=self.settings.webhook_secret.get_secret_value(),
                allowed_updates=self.dispatcher.resolve_used_update_types(), drop_pending_updates=False,
            )
        else:
            # getUpdates fails while a webhook is set; pending updates are kept (not dropped).
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot, polling_timeout=self.settings.polling_timeout_s, handle_signals=False,
                    close_bot_session=False,
                ),
                name="telegram-polling",
            )
        self._started = True

    async def stop(self) -> None:
        """Stop receiving. In-flight answers keep the Bot session; it is closed with the web app."""
        self._started = False
        if self._polling is not None:
            with suppress(RuntimeError):  # "Polling is not started": it already ended
                await self.dispatcher.stop_polling()
            with suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None

    async def ready(self) -> tuple[bool, str]:
        if not self._started:
            return False, "not started"
        if self._polling is not None and self._polling.done():
            return False, "polling stopped"
        return True, ""

    async def close(self) -> None:
        await self.bot.session.close()


def build_telegram(settings: TelegramSettings, services: Services, web_app: web.Application) -> TelegramPlatform:
    """Build the bot, register its responder, and mount `/telegram/webhook` on the shared web app."""
    bot = build_bot(settings)
    dispatcher = Dispatcher(services=services, tg=settings)
    dispatcher.update.outer_middleware(DedupeMiddleware(services.redis))
    dispatcher.include_router(handoff_router())  # `/human` before the general router
    dispatcher.include_router(stop_router())  # Stop presses, before the general router's catch-all button handler
    dispatcher.include_router(build_router())
    platform = TelegramPlatform(settings, services, bot, dispatcher)
    services.dispatcher.register(platform.responder)
    if services.handoff is not None:  # agents' replies from the operator inbox reach Telegram customers
        services.handoff.add_customer_channel("telegram", TelegramCustomerChannel(bot))
    if settings.mode == "webhook":
        assert settings.webhook_secret is not None
        # Telegram gets 200 only once the update is claimed and queued, so a crash before that means a
        # redelivery, not a lost message. Handlers only enqueue: fast. Bad input is a 4xx, never a 500.
        TelegramWebhook(dispatcher, bot, settings.webhook_secret.get_secret_value()).register(
            web_app, WEBHOOK_PATH)  # closes the Bot session on app shutdown
    else:
        async def close_session(_: web.Application) -> None:
            await platform.close()

        web_app.on_cleanup.append(close_session)
    return platform
