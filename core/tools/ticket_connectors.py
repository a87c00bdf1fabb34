"""Where tickets are forwarded: a generic JSON webhook, and Zendesk's Tickets REST API (configurable base URL).

Zendesk (developer.zendesk.com, Support API v2): `POST {base}/api/v2/tickets.json` with
`{"ticket": {"subject", "comment": {"body"}, "priority", "external_id", "tags"}}` answers 201 with
`{"ticket": {"id": ..., "status": "new", ...}}`; `PUT {base}/api/v2/tickets/{id}.json` with
`{"ticket": {"status": ...}}` changes the status. Authentication: HTTP basic `{email}/token` : `{api_token}`.
Our statuses map to Zendesk's: open -> open, pending -> pending, resolved -> solved.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import aiohttp
from pydantic import SecretStr
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from core.tools.tickets import Ticket

ZENDESK_STATUS = {"open": "open", "pending": "pending", "resolved": "solved"}
ZENDESK_PRIORITY = {"low": "low", "normal": "normal", "high": "high", "urgent": "urgent"}


class _Http:
    def __init__(self, attempts: int, timeout_s: float, wait_s: float) -> None:
        self.attempts, self.timeout_s, self.wait_s = attempts, timeout_s, wait_s

    async def send(self, method: str, url: str, payload: dict[str, Any],
                   auth: aiohttp.BasicAuth | None = None) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.attempts), wait=wait_exponential(multiplier=self.wait_s, max=30),
                retry=retry_if_exception_type((aiohttp.ClientError, TimeoutError)), reraise=True,
            ):
                with attempt:
                    async with session.request(method, url, data=json.dumps(payload), auth=auth,
                                               headers={"Content-Type": "application/json"}) as resp:
                        resp.raise_for_status()
                        body = await resp.read()
                        return json.loads(body) if body.strip() else {}
        return {}


class WebhookConnector:
    """POSTs the ticket as JSON (created, and again on every status change, with `event`)."""

    name = "webhook"

    def __init__(self, url: str, attempts: int = 3, timeout_s: float = 10.0, wait_s: float = 0.5) -> None:
        self.url = url
        self.http = _Http(attempts, timeout_s, wait_s)

    async def create(self, ticket: Ticket) -> str:
        await self.http.send("POST", self.url, {**asdict(ticket), "event": "created"})
        return ""

    async def update_status(self, ticket: Ticket) -> None:
        await self.http.send("POST", self.url, {**asdict(ticket), "event": "status"})


class ZendeskConnector:
    name = "zendesk"

    def __init__(self, base_url: str, email: str, api_token: SecretStr, attempts: int = 3, timeout_s: float = 10.0,
                 wait_s: float = 0.5) -> None:
        self.base = base_url.rstrip("/")
        self.auth = aiohttp.BasicAuth(f"{email}/token", api_token.get_secret_value())
        self.http = _Http(attempts, timeout_s, wait_s)

    async def create(self, ticket: Ticket) -> str:
        body = ticket.description or ticket.summary
        payload = {"ticket": {
            "subject": f"[{ticket.number}] {ticket.summary}", "comment": {"body": body, "public": False},
            "priority": ZENDESK_PRIORITY.get(ticket.priority, "normal"), "external_id": ticket.number,
            "tags": ["deskmate", ticket.category, ticket.platform],
        }}
        answer = await self.http.send("POST", f"{self.base}/api/v2/tickets.json", payload, self.auth)
        return str((answer.get("ticket") or {}).get("id") or "")

    async def update_status(self, ticket: Ticket) -> None:
        if not ticket.external_id:
            return
        payload = {"ticket": {"status": ZENDESK_STATUS[ticket.status]}}
        await self.http.send("PUT", f"{self.base}/api/v2/tickets/{ticket.external_id}.json", payload, self.auth)
