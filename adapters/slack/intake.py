"""POST /slack/events before bolt sees it: the signature on the raw bytes first, then a body that parses.

Order, each step one log line and a clear status, never a traceback or a 500:
  too large (aiohttp's client_max_size)       -> 413
  not UTF-8 (Slack always sends UTF-8; the     -> 400
    signature is defined over the UTF-8 text)
  signature missing, wrong or stale (>5 min)  -> 401   slack_sdk's SignatureVerifier on the body as received
  not JSON / form / `payload=` JSON, not an   -> 400
    object, or a shape bolt cannot read
Only then is the body cleaned (lone UTF-16 surrogates spelled as `\\ud800`, control characters: core/ops/clean.py)
and handed to bolt. Bolt's own verification is off (`request_verification_enabled=False`): a cleaned body is
re-serialized and would no longer match the signature, and it was checked here already.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from core.ops.clean import clean_value, is_clean

log = structlog.get_logger("deskmate.slack")


def _reject(status: int, reason: str, request: web.Request, **extra: Any) -> web.Response:
    log.info("slack_request_rejected", status=status, reason=reason, bytes=request.content_length, **extra)
    return web.json_response({"ok": False, "error": reason}, status=status)


def _parse(text: str, content_type: str) -> tuple[dict[str, Any], str] | None:
    """(body, the form it came in) or None when it is neither a JSON object nor a form Slack sends."""
    try:
        if content_type == "application/json" or text.lstrip().startswith("{"):
            body = json.loads(text)
            return (body, "json") if isinstance(body, dict) else None
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
        if "payload" in fields:
            payload = json.loads(fields["payload"])
            return (fields, "payload") if isinstance(payload, dict) else None
        return fields, "form"
    except (ValueError, RecursionError):
        return None


def _serialize(body: dict[str, Any], form: str) -> str:
    if form == "json":
        return json.dumps(body, ensure_ascii=False)
    return urlencode(body)


class SlackIntake:
    def __init__(self, app: AsyncApp, signing_secret: str | None) -> None:
        self.app = app
        # No secret configured: nothing can be verified, so nothing is accepted (fail closed).
        self.verifier = SignatureVerifier(signing_secret) if signing_secret and signing_secret.strip() else None

    async def handle(self, request: web.Request) -> web.Response:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, "too_large", request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _reject(400, "not_utf8", request)
        valid = False
        if self.verifier is not None:
            try:
                valid = self.verifier.is_valid(body=text, timestamp=request.headers.get("X-Slack-Request-Timestamp"),
                                               signature=request.headers.get("X-Slack-Signature"))
            except ValueError:  # a timestamp that is not a number
                valid = False
        if not valid:
            return _reject(401, "bad_signature", request)
        parsed = _parse(text, request.content_type)
        if parsed is None:
            return _reject(400, "malformed_body", request)
        body, form = parsed
        if form == "payload":  # interactivity: a form whose `payload` field is JSON
            payload = json.loads(body["payload"])
            if not (is_clean(body) and is_clean(payload)):
                log.info("slack_body_cleaned")
                body = {**clean_value(body), "payload": json.dumps(clean_value(payload), ensure_ascii=False)}
                text = _serialize(body, form)
        elif not is_clean(body):
            log.info("slack_body_cleaned")
            text = _serialize(clean_value(body), form)
        try:
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                            headers=dict(request.headers))  # type: ignore[arg-type]
            response = await self.app.async_dispatch(bolt_request)
        except Exception as exc:  # a signed body whose shape bolt cannot read
            return _reject(400, "unreadable_body", request, error=type(exc).__name__)
        if response.status == 500:  # bolt's middleware failed on it (logged once by the app's error handler)
            return _reject(400, "unreadable_body", request)
        return await to_aiohttp_response(response)
