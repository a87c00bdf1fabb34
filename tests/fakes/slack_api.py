"""A local fake of the Slack Web API for tests and benchmarks, reached via DESKMATE_SLACK__API_URL.

It answers the methods Deskmate calls with Slack's response shapes (`{"ok": true, ...}`; errors as
`{"ok": false, "error": "..."}`; 429 with `Retry-After`), keeps the messages it was sent (so a test can read
what a user would see in a thread), records every call, and can be scripted to fail:

    slack.refuse_streaming("feature_not_enabled")      # chat.startStream refused
    slack.kill_streams_after(2)                         # appendStream fails after 2 appends per stream
    slack.rate_limit_once("chat.appendStream", 1)       # one 429 with Retry-After: 1
    slack.flood()                                       # Slack's tiers per workspace and method (429 beyond)
    slack.fail_progress("invalid_chunks")               # every call carrying task/plan chunks is refused
    slack.fail_progress(status=429, times=1)            # the next call carrying them gets a 429

Streamed messages keep their chunks as a user sees them (`Message.progress`, tests/fakes/slack_chunks.py), and
malformed chunks are refused with `invalid_chunks` as Slack does.

Socket Mode too: `apps.connections.open` (app-level `xapp-` token only) hands out a WebSocket URL on this
server, which greets with `hello`; `push_envelope` sends an `events_api`/`slash_commands`/`interactive`
envelope over it and `acked` waits for the client's `{"envelope_id": ...}` acknowledgement.

`signed_body_headers` builds Slack's v0 request signature so tests can post events to the app, and
`slack_rig` runs the whole product (runtime + Slack platform built as `deskmate serve` builds it, on a local
HTTP server) against this fake.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.fakes.flood import Flood, Limit
from tests.fakes.local_server import LocalServer, serve_app
from tests.fakes.slack_chunks import DISPLAY_MODES, Progress, has_progress, invalid
from tests.fakes.slack_files import SlackFiles

BOT_USER = "UBOT"
BOT_ID = "BBOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)
    status: int = 200
    ok: bool = True
    error: str | None = None

    @property
    def text(self) -> str:
        """Text this call carried (markdown_text, chunks of type markdown_text, or text)."""
        parts = [str(self.args.get("markdown_text") or "")]
        parts += [str(c.get("text", "")) for c in _json_list(self.args.get("chunks")) if c.get("type") == "markdown_text"]
        if not parts[0] and len(parts) == 1:
            parts.append(str(self.args.get("text") or ""))
        return "".join(parts)


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    streaming: bool = False
    appends: int = 0
    kind: str = "message"  # "stream" | "message" | "ephemeral"
    user: str | None = None  # ephemeral: who sees it
    files: list[dict[str, Any]] = field(default_factory=list)  # files shared with this message
    progress: Progress = field(default_factory=Progress)  # streamed: task cards and text, in order


def _json_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [v for v in value or [] if isinstance(v, dict)]


def _readable(message: Message) -> int:
    """Characters of text a reader sees: a posted message of buttons only (blocks all `actions`, like the Stop
    control) shows its blocks, not its fallback `text`; a stream shows its streamed text above its blocks."""
    if message.kind == "message" and message.blocks and all(b.get("type") == "actions" for b in message.blocks):
        return 0
    return len(message.text)


def signed_body_headers(secret: str, body: str, timestamp: int | None = None,
                        content_type: str = "application/json") -> dict[str, str]:
    """Headers Slack sends with a request: v0 HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def form_body(fields: dict[str, Any]) -> str:
    return urlencode({k: v for k, v in fields.items() if v is not None})


class FakeSlack(LocalServer):
    handler_cancellation = False

    def __init__(self, team_id: str = "T1") -> None:
        super().__init__()
        self.team_id = team_id
        self.calls: list[Call] = []
        self.messages: dict[str, Message] = {}
        self.responses: list[dict[str, Any]] = []  # bodies posted to response_url
        self.users: dict[str, dict[str, Any]] = {}
        self.refuse_stream_error: str | None = None
        self.kill_after: int | None = None
        self.limits: dict[str, list[float]] = {}
        self.flood_limits: dict[str, tuple[float, int]] | None = None  # method -> (calls per minute, burst)
        self.flooding = Flood()
        self.visible: dict[str, list[tuple[float, int]]] = {}  # channel -> (time, characters a user sees)
        self._ts = itertools.count(1)
        self.sockets: list[web.WebSocketResponse] = []  # Socket Mode connections, newest last
        self.acks: dict[str, dict[str, Any]] = {}  # envelope_id -> the client's acknowledgement
        self.files = SlackFiles(lambda: self.port)  # uploads (files.*ExternalUpload) and url_private_download
        self.progress_failure: tuple[str, int] | None = None  # (error, HTTP status) for calls with task chunks
        self.progress_failures_left: int | None = None

    # -- scripting

    def refuse_streaming(self, error: str = "feature_not_enabled") -> None:
        self.refuse_stream_error = error

    def kill_streams_after(self, appends: int) -> None:
        """appendStream answers message_not_in_streaming_state once a stream had this many appends."""
        self.kill_after = appends

    def fail_progress(self, error: str = "invalid_chunks", status: int = 200, times: int | None = None) -> None:
        """Calls carrying task_update/plan_update chunks fail (`times` of them; None: all) with `error`, or with
        a 429 + Retry-After: 1 when `status` is 429."""
        self.progress_failure = (error if status != 429 else "ratelimited", status)
        self.progress_failures_left = times

    def _progress_refused(self, method: str, args: dict[str, Any]) -> web.Response | None:
        if self.progress_failure is None or not has_progress(args.get("chunks")):
            return None
        if self.progress_failures_left is not None:
            if self.progress_failures_left <= 0:
                return None
            self.progress_failures_left -= 1
        error, status = self.progress_failure
        self.calls.append(Call(method, args, status=status, ok=False, error=error))
        headers = {"Retry-After": "1"} if status == 429 else None
        return web.json_response({"ok": False, "error": error}, status=status, headers=headers)

    def rate_limit_once(self, method: str, retry_after: float = 1) -> None:
        self.limits.setdefault(method, []).append(retry_after)

    def flood(self, tier4_per_min: float = 100, tier4_burst: int = 20, tier3_per_min: float = 50,
              tier3_burst: int = 10) -> None:
        """Refuse calls beyond Slack's rate tiers, per workspace and method, as Slack does (429 + Retry-After):
        chat.startStream/appendStream/stopStream Tier 4, chat.update Tier 3, chat.postMessage ~1/s per channel."""
        self.flood_limits = {m: (tier4_per_min, tier4_burst)
                             for m in ("chat.startStream", "chat.appendStream", "chat.stopStream")}
        self.flood_limits["chat.update"] = (tier3_per_min, tier3_burst)
        self.flood_limits["chat.postMessage"] = (60.0, 2)  # per channel, see _flood_scope

    def _flood_wait(self, method: str, args: dict[str, Any]) -> float:
        if self.flood_limits is None or method not in self.flood_limits:
            return 0.0
        per_min, burst = self.flood_limits[method]
        name = f"{self.team_id}:{method}"
        if method == "chat.postMessage":
            name += f":{args.get('channel')}"
        return self.flooding.check([Limit(name, per_min, 60.0, burst)], method)

    def add_user(self, user: str, *, admin: bool = False, owner: bool = False, locale: str = "en-US") -> None:
        self.users[user] = {"is_admin": admin, "is_owner": owner, "locale": locale}

    # -- reading

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def response_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/response"

    def calls_to(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.method in methods]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Bot messages (not ephemeral) in a thread, oldest first."""
        return sorted((m for m in self.messages.values()
                       if m.channel == channel and m.thread_ts == thread_ts and m.kind != "ephemeral"),
                      key=lambda m: float(m.ts))

    def channel_messages(self, channel: str) -> list[Message]:
        """Every bot message (not ephemeral) in a channel, threads included, oldest first."""
        return sorted((m for m in self.messages.values() if m.channel == channel and m.kind != "ephemeral"),
                      key=lambda m: float(m.ts))

    def thread_text(self, channel: str, thread_ts: str) -> str:
        return "".join(m.text for m in self.thread(channel, thread_ts))

    def reset(self) -> None:
        self.calls.clear()
        self.messages.clear()
        self.responses.clear()
        self.refuse_stream_error = None
        self.kill_after = None
        self.limits.clear()
        self.flood_limits = None
        self.flooding = Flood()
        self.visible.clear()
        self.progress_failure = self.progress_failures_left = None

    # -- lifecycle

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response", self._response_url)
        app.router.add_get("/socket", self._socket)
        self.files.add_routes(app)

    # -- Socket Mode

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self.sockets),
                            "debug_info": {"host": "fake-slack"}, "connection_info": {"app_id": "A1"}})
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.acks[ack["envelope_id"]] = ack
        self.sockets.remove(ws)
        return ws

    async def push_envelope(self, kind: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Send one envelope over the newest Socket Mode connection; returns its envelope_id."""
        await wait_for(lambda: bool(self.sockets))
        envelope_id = f"env-{time.perf_counter_ns()}"
        await self.sockets[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind != "events_api", "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        })
        return envelope_id

    async def acked(self, envelope_id: str) -> dict[str, Any]:
        await wait_for(lambda: envelope_id in self.acks, within_s=3)  # Slack wants the ack within 3 s
        return self.acks[envelope_id]

    # -- handlers

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        token_kind = "Bearer xapp" if method == "apps.connections.open" else "Bearer xox"
        if not request.headers.get("Authorization", "").startswith(token_kind):
            return self._answer(method, args, {"ok": False, "error": "not_authed"})
        flood_wait = self._flood_wait(method, args)
        if flood_wait > 0:
            self.calls.append(Call(method, args, status=429, ok=False, error="ratelimited"))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(max(1, math.ceil(flood_wait)))})
        pending = self.limits.get(method)
        if pending:
            retry_after = pending.pop(0)
            self.calls.append(Call(method, args, status=429, ok=False, error="ratelimited"))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(int(retry_after))})
        refused = self._progress_refused(method, args)
        if refused is not None:
            return refused
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return self._answer(method, args, {"ok": False, "error": "unknown_method"})
        return self._answer(method, args, handler(args))

    def _answer(self, method: str, args: dict[str, Any], body: dict[str, Any]) -> web.Response:
        self.calls.append(Call(method, args, ok=bool(body.get("ok")), error=body.get("error")))
        if body.get("ok") and method in ("chat.startStream", "chat.appendStream", "chat.stopStream",
                                         "chat.postMessage", "chat.update"):
            channel = str(args.get("channel"))
            shown = sum(_readable(m) for m in self.channel_messages(channel))
            self.visible.setdefault(channel, []).append((time.perf_counter(), shown))
        return web.json_response(body)

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    # -- methods

    def m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "deskmate",
                "team_id": self.team_id, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        facts = self.users.get(user, {"is_admin": False, "is_owner": False, "locale": "en-US"})
        info = {"id": user, "team_id": self.team_id, "name": user.lower(), "is_bot": False,
                "is_primary_owner": False, **facts}
        if str(args.get("include_locale")).lower() not in ("true", "1"):
            info.pop("locale", None)
        return {"ok": True, "user": info}

    def m_chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.refuse_stream_error:
            return {"ok": False, "error": self.refuse_stream_error}
        channel, thread_ts = args.get("channel"), args.get("thread_ts")
        if not channel or not thread_ts:
            return {"ok": False, "error": "invalid_arguments"}
        if str(channel).startswith("C") and not (args.get("recipient_user_id") and args.get("recipient_team_id")):
            return {"ok": False, "error": "missing_recipient_user_id"}
        if args.get("task_display_mode", "timeline") not in DISPLAY_MODES:
            return {"ok": False, "error": "invalid_arguments"}
        if invalid(args.get("chunks")):
            return {"ok": False, "error": "invalid_chunks"}
        ts = self._new_ts()
        msg = Message(str(channel), ts, str(thread_ts), kind="stream", streaming=True)
        msg.progress.mode = str(args.get("task_display_mode", "timeline"))
        msg.progress.take(args)
        msg.text = Call("", args).text
        self.messages[ts] = msg
        return {"ok": True, "channel": channel, "ts": ts}

    def _streaming(self, args: dict[str, Any]) -> Message | dict[str, Any]:
        msg = self.messages.get(str(args.get("ts")))
        if msg is None or msg.channel != args.get("channel"):
            return {"ok": False, "error": "message_not_found"}
        if not msg.streaming:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        return msg

    def m_chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming(args)
        if isinstance(msg, dict):
            return msg
        if self.kill_after is not None and msg.appends >= self.kill_after:
            msg.streaming = False
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if invalid(args.get("chunks")):
            return {"ok": False, "error": "invalid_chunks"}
        text = Call("", args).text
        if not text and not args.get("chunks"):
            return {"ok": False, "error": "no_text"}
        if len(text) > 12_000:
            return {"ok": False, "error": "msg_too_long"}
        msg.progress.take(args)
        msg.text += text
        msg.appends += 1
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def m_chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming(args)
        if isinstance(msg, dict):
            return msg
        if invalid(args.get("chunks")):
            return {"ok": False, "error": "invalid_chunks"}
        msg.progress.take(args)
        msg.text += Call("", args).text
        msg.blocks = _json_list(args.get("blocks"))
        msg.streaming = False
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "message": {"text": msg.text}}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel")
        if not channel or not (args.get("text") or args.get("blocks")):
            return {"ok": False, "error": "no_text"}
        ts = self._new_ts()
        thread_ts = args.get("thread_ts")
        self.messages[ts] = Message(str(channel), ts, str(thread_ts) if thread_ts else None,
                                    text=str(args.get("text") or ""), blocks=_json_list(args.get("blocks")))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text")}}

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get(str(args.get("ts")))
        if msg is None or msg.channel != args.get("channel"):
            return {"ok": False, "error": "message_not_found"}
        if msg.streaming:
            return {"ok": False, "error": "cant_update_message"}
        msg.text = str(args.get("text") or "")
        if "blocks" in args:
            msg.blocks = _json_list(args.get("blocks"))
        return {"ok": True, "channel": msg.channel, "ts": msg.ts, "text": msg.text}

    def m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self.messages.get(str(args.get("ts")))
        if msg is None or msg.channel != args.get("channel") or msg.kind == "ephemeral":
            return {"ok": False, "error": "message_not_found"}
        del self.messages[msg.ts]
        return {"ok": True, "channel": msg.channel, "ts": msg.ts}

    def m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """The bot's messages of a thread (Slack would list the users' too), within oldest..latest."""
        channel, thread = str(args.get("channel")), str(args.get("ts"))
        low, high = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        found = [{"type": "message", "ts": m.ts, "thread_ts": m.thread_ts, "text": m.text, "blocks": m.blocks,
                  "user": BOT_USER, "bot_id": BOT_ID} for m in self.thread(channel, thread) if low <= float(m.ts) <= high]
        return {"ok": True, "messages": found[:int(args.get("limit") or 100)], "has_more": False}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._new_ts()
        thread_ts = args.get("thread_ts")
        self.messages[ts] = Message(str(args.get("channel")), ts, str(thread_ts) if thread_ts else None,
                                    text=str(args.get("text") or ""), kind="ephemeral", user=str(args.get("user")))
        return {"ok": True, "message_ts": ts}

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.files.get_upload_url(args)

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        answer, done = self.files.complete(args)
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        if answer.get("ok") and channel:
            ts = self._new_ts()
            self.messages[ts] = Message(str(channel), ts, str(thread_ts) if thread_ts else None,
                                        text=str(args.get("initial_comment") or ""), files=answer["files"])
            for f in done:
                f.shared_in.append((str(channel), str(thread_ts) if thread_ts else None))
        return answer

    def m_assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def m_agents_sessions_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("status") not in ("active", "processing", "suspended", "closed"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "status": args["status"]}

    def m_assistant_threads_setSuggestedPrompts(self, args: dict[str, Any]) -> dict[str, Any]:
        if not _json_list(args.get("prompts")):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True}


# ---------------------------------------------------------------------------------------------- rig

SECRET = "test-signing-secret"


class SlackRig:
    def __init__(self, slack: FakeSlack, runtime: Any, platform: Any, url: str, session: aiohttp.ClientSession):
        self.slack = slack
        self.runtime = runtime
        self.platform = platform
        self.url = url
        self.session = session
        self._ts = 1000
        self.asked: dict[str, dict[str, Any]] = {}  # ts -> the message event of each question sent (for edits)

    def next_ts(self) -> str:
        self._ts += 1
        return f"1700000000.{self._ts:06d}"

    async def post(self, body: str, content_type: str = "application/json", secret: str = SECRET,
                   timestamp: int | None = None, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        sent = signed_body_headers(secret, body, timestamp, content_type) | (headers or {})
        async with self.session.post(self.url, data=body.encode(), headers=sent) as resp:
            await resp.read()
            return resp

    async def event(self, event: dict[str, Any], event_id: str | None = None, team: str = "T1",
                    retry: int | None = None) -> aiohttp.ClientResponse:
        payload = {"token": "x", "team_id": team, "api_app_id": "A1", "type": "event_callback",
                   "event_id": event_id or f"Ev{time.perf_counter_ns()}", "event_time": int(time.time()),
                   "event": event}
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return await self.post(json.dumps(payload), headers=extra)

    async def socket_event(self, event: dict[str, Any], event_id: str, team: str = "T1",
                           retry_attempt: int = 0) -> dict[str, Any]:
        """Deliver an event over Socket Mode as Slack does; returns the client's acknowledgement."""
        payload = {"token": "x", "team_id": team, "api_app_id": "A1", "type": "event_callback",
                   "event_id": event_id, "event_time": int(time.time()), "event": event}
        envelope_id = await self.slack.push_envelope("events_api", payload, retry_attempt)
        return await self.slack.acked(envelope_id)

    async def mention(self, text: str, channel: str = "C1", user: str = "U1", team: str = "T1",
                      thread_ts: str | None = None, event_id: str | None = None) -> str:
        ts = self.next_ts()
        event = {"type": "app_mention", "user": user, "text": f"<@UBOT> {text}", "ts": ts, "channel": channel,
                 "team": team, "event_ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.asked[ts] = event
        resp = await self.event(event, event_id, team)
        assert resp.status == 200
        return ts

    async def dm(self, text: str, channel: str = "D1", user: str = "U1", thread_ts: str | None = None) -> str:
        ts = self.next_ts()
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts, "channel": channel,
                 "team": "T1", "event_ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.asked[ts] = event
        resp = await self.event(event)
        assert resp.status == 200
        return ts

    async def command(self, text: str, user: str = "U1", channel: str = "C1", team: str = "T1") -> dict[str, Any]:
        """Run the slash command and return the ephemeral answer posted to response_url."""
        before = len(self.slack.responses)
        body = form_body({"token": "x", "team_id": team, "channel_id": channel, "user_id": user,
                          "command": "/deskmate", "text": text, "response_url": self.slack.response_url,
                          "trigger_id": "1.2.3"})
        resp = await self.post(body, "application/x-www-form-urlencoded")
        assert resp.status == 200
        await wait_for(lambda: len(self.slack.responses) > before)
        return self.slack.responses[-1]

    async def click(self, action_id: str, value: str, channel: str, message_ts: str, thread_ts: str,
                    user: str = "U1", team: str = "T1", block_id: str = "b") -> None:
        """A block_actions payload as Slack sends it for a button press on message `message_ts`."""
        shown = self.slack.messages.get(message_ts)
        payload = {"type": "block_actions", "team": {"id": team}, "user": {"id": user, "team_id": team},
                   "api_app_id": "A1", "trigger_id": "1.2.3", "channel": {"id": channel},
                   "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
                   "message": {"ts": message_ts, "thread_ts": thread_ts, "text": shown.text if shown else "x",
                               "blocks": shown.blocks if shown else []},
                   "response_url": self.slack.response_url,
                   "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button"}]}
        resp = await self.post(form_body({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        assert resp.status == 200

    async def answered(self, channel: str, thread_ts: str, count: int = 1, within_s: float = 20.0) -> str:
        """Wait until `count` answers in the thread are finished (at most `within_s`); return the thread's text."""
        def done() -> bool:
            stops = [c for c in self.slack.calls_to("chat.stopStream", "chat.update", "chat.postMessage")
                     if c.ok and c.args.get("channel") == channel and _has_feedback(c.args.get("blocks"))]
            return len([c for c in stops if _thread_of(self.slack, c) == thread_ts]) >= count
        await wait_for(done, within_s)
        await self.idle()
        return self.slack.thread_text(channel, thread_ts)

    async def idle(self) -> None:
        """Wait for in-flight answers to finish."""
        tasks = getattr(self.runtime.dispatcher, "tasks", None) or {}
        deadline = time.monotonic() + 60  # a wait, not a speed check: only a hang ends it
        while tasks:
            if time.monotonic() > deadline:
                names = [t.get_name() for t in (tasks.values() if isinstance(tasks, dict) else tasks)]
                raise AssertionError(f"answers still in flight after 60 s: {names}")
            pending = set(tasks.values()) if isinstance(tasks, dict) else set(tasks)
            await asyncio.wait(pending, timeout=10)


def _has_feedback(blocks: Any) -> bool:
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return any(b.get("type") == "actions" and str(b.get("block_id", "")).startswith("feedback:")
               for b in blocks or [])


def _thread_of(slack: FakeSlack, call: Any) -> str | None:
    ts = call.args.get("ts")
    if ts and ts in slack.messages:
        return slack.messages[ts].thread_ts
    return call.args.get("thread_ts")


async def wait_for(check: Callable[[], bool], within_s: float = 20.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def slack_rig(llm_server: Any, monkeypatch: Any, **env: str) -> AsyncIterator[SlackRig]:
    """The whole product (runtime + Slack platform) served on 127.0.0.1, talking to a fake Slack and LLM."""
    from bots.commands.serve import build_platforms
    from bots.composition import open_runtime
    from bots.settings import load_settings

    async with FakeSlack() as slack:
        values = {
            "DESKMATE_LLM__MODEL": "openai/gpt-4o-mini", "DESKMATE_LLM__API_BASE": llm_server.base_url,
            "DESKMATE_LLM__API_KEY": "sk-test", "DESKMATE_LLM__NUM_RETRIES": "0",
            "DESKMATE_SLACK__BOT_TOKEN": "xoxb-test", "DESKMATE_SLACK__SIGNING_SECRET": SECRET,
            "DESKMATE_SLACK__API_URL": slack.base_url, **env,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        async with open_runtime(settings) as runtime:
            web_app = web.Application()
            [platform] = build_platforms(settings, runtime, web_app)  # as `deskmate serve` does
            runner, port = await serve_app(web_app)
            await platform.start()
            try:
                async with aiohttp.ClientSession() as session:
                    rig = SlackRig(slack, runtime, platform, f"http://127.0.0.1:{port}/slack/events", session)
                    yield rig
                    await rig.idle()
            finally:
                await platform.stop()
                await runner.cleanup()
