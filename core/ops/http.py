"""The operations endpoints on Deskmate's HTTP server: /metrics (Prometheus) and /readyz."""

from __future__ import annotations

from aiohttp import web

from core.ops.health import Readiness
from core.ops.metrics import CONTENT_TYPE, Metrics


def add_routes(app: web.Application, metrics: Metrics, readiness: Readiness) -> None:
    async def metrics_view(_: web.Request) -> web.Response:
        body = await metrics.render()
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE
        return response

    async def ready_view(_: web.Request) -> web.Response:
        ok, checks = await readiness.run()
        body: dict[str, object] = {"ready": ok, "checks": checks}
        if readiness.reasons:
            body["reasons"] = readiness.reasons
        return web.json_response(body, status=200 if ok else 503)

    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/readyz", ready_view)
