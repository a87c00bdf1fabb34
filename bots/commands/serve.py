"""`deskmate serve`: the HTTP server (Slack events, Telegram webhook, health) and platform connections."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiohttp import web

from bots.settings import Settings

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


def build_platforms(settings: Settings, runtime: object, web_app: web.Application) -> list:
    """Every configured platform, with its HTTP routes mounted on `web_app`."""
    platforms: list = []
    if settings.slack.enabled:
        from adapters.slack.platform import build_slack

        platforms.append(build_slack(settings.slack, runtime.services, web_app))  # type: ignore[attr-defined]
    if settings.telegram.enabled:
        from adapters.telegram.platform import build_telegram

        platforms.append(build_telegram(settings.telegram, runtime.services, web_app))  # type: ignore[attr-defined]
    tools = runtime.parts.get("tools")  # type: ignore[attr-defined]
    for platform in platforms:  # escalate_to_human delivers to DESKMATE_TOOLS__ESCALATION_TARGET through these
        if tools is not None and getattr(platform, "notifier", None) is not None:
            tools.escalations.add_notifier(platform.name, platform.notifier)
    return platforms


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from bots.composition import open_runtime
    from core.log import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    from core.ops.health import platform_check
    from core.ops.http import add_routes

    role = getattr(args, "role", None) or settings.queue.role
    settings.queue.role = role
    async with open_runtime(settings) as runtime:
        web_app = web.Application(client_max_size=1024 * 1024)
        web_app.router.add_get("/healthz", lambda _: web.json_response({"status": "ok"}))
        ops = runtime.parts["ops"]
        add_routes(web_app, ops.metrics, ops.readiness)
        platforms = build_platforms(settings, runtime, web_app)
        for platform in platforms:
            ops.readiness.add(f"platform:{platform.name}", platform_check(platform))
        runtime.dispatcher.consume_on_submit = role == "both"  # type: ignore[attr-defined]
        if not platforms:
            print("deskmate: no platform configured (set DESKMATE_SLACK__* or DESKMATE_TELEGRAM__* settings); "
                  "serving health endpoints only", file=sys.stderr)
        runner = web.AppRunner(web_app)
        await runner.setup()
        site = web.TCPSite(runner, settings.http.host, settings.http.port)
        await site.start()
        if role in ("both", "worker"):
            await runtime.dispatcher.start()  # type: ignore[attr-defined]  # answer queued messages
        if role in ("both", "receiver"):
            for platform in platforms:
                await platform.start()
        print(f"deskmate: serving on {settings.http.host}:{settings.http.port} (role {role})", file=sys.stderr)
        try:
            await stop.wait()
        finally:
            # Graceful: stop taking new messages, let in-flight answers finish (or end them cleanly), then close.
            if role in ("both", "receiver"):
                for platform in platforms:
                    await platform.stop()
            await runtime.dispatcher.drain(settings.queue.drain_s)
            await runner.cleanup()
    return 0
