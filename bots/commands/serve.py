"""`deskmate serve`: the HTTP server (Slack events, Telegram webhook, health) and platform connections."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TYPE_CHECKING

from aiohttp import web

from bots.settings import Settings

if TYPE_CHECKING:
    from bots.composition import Runtime
    from core.services import Platform

DRAIN_S = 30.0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve", help="run Deskmate for Slack and/or Telegram",
        description="Start Deskmate's HTTP server and every platform whose settings are present.",
    )
    parser.add_argument(
        "--role", choices=("both", "receiver", "worker"), default=None,
        help="both (default): receive platform events and answer them; receiver: only queue incoming messages; "
             "worker: only answer queued messages (scale out workers behind one Redis)",
    )
    parser.set_defaults(func=run)


def build_platforms(settings: Settings, runtime: Runtime, web_app: web.Application) -> list[Platform]:
    """Every configured platform, with its HTTP routes mounted on `web_app` and its responder registered."""
    platforms: list[Platform] = []
    if settings.slack.enabled:
        from adapters.slack.platform import build_slack

        slack = build_slack(settings.slack, runtime.services, web_app)
        runtime.tools.escalations.add_notifier(slack.name, slack.notifier)  # DESKMATE_TOOLS__ESCALATION_TARGET
        platforms.append(slack)
    if settings.telegram.enabled:
        from adapters.telegram.platform import build_telegram

        telegram = build_telegram(settings.telegram, runtime.services, web_app)
        runtime.tools.escalations.add_notifier(telegram.name, telegram.notifier)
        platforms.append(telegram)
    return platforms


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bots.composition import open_runtime
    from core.log import configure_logging
    from core.ops.health import part_check
    from core.ops.http import add_routes

    configure_logging(settings.log_level, settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    role = args.role or settings.queue.role
    settings.queue.role = role
    receives, answers = role in ("both", "receiver"), role in ("both", "worker")
    async with open_runtime(settings) as runtime:
        web_app = web.Application(client_max_size=1024 * 1024)
        web_app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
        add_routes(web_app, runtime.ops.metrics, runtime.ops.readiness)
        platforms = build_platforms(settings, runtime, web_app)
        # /readyz asks what this role needs: a receiver its platform connections, a worker its queue consumer.
        if receives:
            for platform in platforms:
                runtime.ops.readiness.add(f"platform:{platform.name}", part_check(platform))
        if answers:
            runtime.ops.readiness.add("queue_consumer", part_check(runtime.dispatcher))
        runtime.dispatcher.consume_on_submit = role == "both"
        if not platforms:
            print("deskmate: no platform configured (set DESKMATE_SLACK__* or DESKMATE_TELEGRAM__* settings); "
                  "serving health endpoints only", file=sys.stderr)
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        if answers:
            await runtime.dispatcher.start()  # answer queued messages
        if receives:
            for platform in platforms:
                await platform.start()
        print(f"deskmate: serving on {settings.http.host}:{settings.http.port} (role {role})", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            # Graceful: stop taking new messages, let in-flight answers finish (or end them cleanly), then close.
            if receives:
                for platform in platforms:
                    await platform.stop()
            await runtime.dispatcher.drain(settings.queue.drain_s)
            await runner.cleanup()
    return 0
