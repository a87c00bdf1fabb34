"""A local fake of Zendesk's Tickets API (Support API v2), reached through DESKMATE_TOOLS__ZENDESK_URL.

It speaks the documented wire format: `POST /api/v2/tickets.json` with `{"ticket": {...}}` answers 201 with the
created ticket (`id`, `status` "new", ...); `PUT /api/v2/tickets/{id}.json` changes fields and answers 200;
`GET /api/v2/tickets/{id}.json` reads one. Requests must carry HTTP basic auth `{email}/token:{api_token}`
(401 `{"error": "Couldn't authenticate you"}` otherwise); a body without `ticket` is 422 like the real API.
"""

from __future__ import annotations

import base64
import itertools
import time
from typing import Any

from aiohttp import web

from tests.fakes.local_server import LocalServer

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


class FakeZendesk(LocalServer):
    def __init__(self, email: str = "bot@acme.test", token: str = "zd-token") -> None:
        super().__init__()
        self.credentials = f"{email}/token:{token}"
        self.tickets: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._ids = itertools.count(35436)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/v2/tickets.json", self._create)
        app.router.add_put("/api/v2/tickets/{id}.json", self._update)
        app.router.add_get("/api/v2/tickets/{id}.json", self._show)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        return base64.b64decode(header[6:]).decode() == self.credentials

    async def _body(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        if not self._authorized(request):
            return None, web.json_response({"error": "Couldn't authenticate you"}, status=401)
        body = await request.json()
        self.requests.append((request.method, request.path, body))
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            return None, web.json_response({"error": "RecordInvalid", "description": "Record validation errors"},
                                           status=422)
        return body["ticket"], None

    async def _create(self, request: web.Request) -> web.Response:
        fields, refused = await self._body(request)
        if refused is not None or fields is None:
            return refused or web.Response(status=500)
        if not (fields.get("comment") or {}).get("body"):
            return web.json_response({"error": "RecordInvalid", "details": {"base": [{"description":
                                      "Description: cannot be blank"}]}}, status=422)
        ticket_id = next(self._ids)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ticket = {"id": ticket_id, "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
                  "subject": fields.get("subject"), "description": fields["comment"]["body"],
                  "priority": fields.get("priority"), "status": fields.get("status") or "new",
                  "external_id": fields.get("external_id"), "tags": fields.get("tags") or [],
                  "created_at": now, "updated_at": now}
        self.tickets[ticket_id] = ticket
        return web.json_response({"ticket": ticket, "audit": {"ticket_id": ticket_id}}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        fields, refused = await self._body(request)
        if refused is not None or fields is None:
            return refused or web.Response(status=500)
        ticket = self.tickets.get(int(request.match_info["id"]))
        if ticket is None:
            return web.json_response({"error": "RecordNotFound", "description": "Not found"}, status=404)
        if "status" in fields and fields["status"] not in STATUSES:
            return web.json_response({"error": "RecordInvalid"}, status=422)
        ticket.update({k: v for k, v in fields.items() if k in ("status", "priority", "subject")})
        return web.json_response({"ticket": ticket})

    async def _show(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "Couldn't authenticate you"}, status=401)
        ticket = self.tickets.get(int(request.match_info["id"]))
        if ticket is None:
            return web.json_response({"error": "RecordNotFound"}, status=404)
        return web.json_response({"ticket": ticket})
