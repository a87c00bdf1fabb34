"""`build_slack`: the bolt app, its Web API client, the responder, and the HTTP route or Socket Mode."""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackReceiver
from adapters.slack.inbox import attach_inbox
from adapters.slack.intake import SlackIntake
from adapters.slack.notifier import SlackNotifier
from adapters.slack.responder import SlackResponder
from adapters.slack.retry import CountingRateLimitRetryHandler
from adapters.slack.settings import SlackSettings
from core.services import Services

log = structlog.get_logger("deskmate.slack")


def make_client(settings: SlackSettings, session: aiohttp.ClientSession | None = None,
                metrics: Any = None) -> AsyncWebClient:
    """The Web API client: configurable base URL, 429 Retry-After honoured (and counted in `metrics`),
    connection errors retried."""
    if settings.bot_token is None:
        raise ValueError("DESKMATE_SLACK__BOT_TOKEN is not set")
    base_url = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
    return AsyncWebClient(
        token=settings.bot_token.get_secret_value(), base_url=base_url, session=session,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                        CountingRateLimitRetryHandler(metrics, max_retry_count=settings.rate_limit_retries)],
    )


class SlackPlatform:
    name = "slack"

    def __init__(self, settings: SlackSettings, app: AsyncApp, client: AsyncWebClient,
                 session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.app = app
        self.client = client
        self.session = session
        self.socket: AsyncSocketModeHandler | None = None
        self.started = False
        self.notifier = SlackNotifier(client)  # escalation notes to a channel (registered by `serve`)
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else None
        self.intake = SlackIntake(app, secret)

    @property
    def socket_mode(self) -> bool:
        return self.settings.app_token is not None

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: events, interactivity and slash commands (signature checked on the raw body)."""
        return await self.intake.handle(request)

    async def start(self) -> None:
        if self.socket_mode and self.settings.app_token is not None:
            self.socket = AsyncSocketModeHandler(self.app, self.settings.app_token.get_secret_value(),
                                                 web_client=self.client)
            await self.socket.connect_async()
        self.started = True
        log.info("slack_started", mode="socket" if self.socket_mode else "http")

    async def stop(self) -> None:
        self.started = False
        if self.socket is not None:
            await self.socket.close_async()
            self.socket = None
        # In-flight answers still finish: with the shared session closed, slack_sdk opens one per request.
        await self.session.close()

    async def ready(self) -> tuple[bool, str]:
        if self.socket is not None:
            connected = bool(await self.socket.client.is_connected())
            return connected, "" if connected else "Socket Mode is not connected"
        return self.started, "" if self.started else "not started"


def build_slack(settings: SlackSettings, services: Services, web_app: web.Application) -> SlackPlatform:
    """Build the Slack platform and register its responder; in HTTP mode mount POST `events_path`."""
    session = aiohttp.ClientSession()
    client = make_client(settings, session, services.metrics)
    app = AsyncApp(
        client=client, name="deskmate",
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else "",
        # HTTP mode: SlackIntake verifies the signature on the raw bytes before anything parses them;
        # Socket Mode: no HTTP requests to sign.
        request_verification_enabled=False,
        process_before_response=False,  # ack first; listeners run after the response
    )
    attach_inbox(app, client, services.handoff, services.handoff.tickets if services.handoff else None)  # first
    SlackReceiver(settings, services, client).attach(app)
    services.dispatcher.register(SlackResponder(client, settings, services.redis, services.edits))
    platform = SlackPlatform(settings, app, client, session)
    if settings.app_token is None:
        web_app.router.add_post(settings.events_path, platform.handle_http)
    return platform
