"""The lifecycle every local fake server shares: an aiohttp app on 127.0.0.1 at an ephemeral port."""

from __future__ import annotations

from typing import Self

from aiohttp import web


async def serve_app(app: web.Application, *, handler_cancellation: bool = False) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1:<free port>; returns the runner (call `cleanup()`) and the port."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=handler_cancellation)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, shutdown_timeout=0.1)
    await site.start()
    sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
    return runner, sockets[0].getsockname()[1]


class LocalServer:
    """Base of the fakes: subclasses add their routes; `async with Fake() as fake:` starts and stops it."""

    handler_cancellation = True

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.port = 0

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def before_stop(self) -> None:
        """Release handlers that are waiting (long polls, hangs) so shutdown is quick."""

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.add_routes(app)
        self._runner, self.port = await serve_app(app, handler_cancellation=self.handler_cancellation)
        return self

    async def stop(self) -> None:
        await self.before_stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
