"""A local Telegram Bot API server for tests, reached through DESKMATE_TELEGRAM__API_URL.

It speaks the real wire protocol (`POST /bot<token>/<method>`, form or JSON parameters, `{"ok": true,
"result": ...}` / `{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}`), keeps the
chat history (messages, edits, drafts) so tests can check what a user would see, validates HTML the way
Telegram does (balanced, known tags; "can't parse entities" otherwise), enforces the 4096-char limit and
non-empty texts, serves getUpdates (long polling with offsets), getFile + file downloads, getChatMember.

    fake.fail("editMessageText", RetryAfter(2))         # the next editMessageText gets a 429
    fake.fail("sendMessage", BadRequest("can't parse entities: ..."), when=lambda p: p.get("parse_mode"))
    fake.flood()      # flood control: ~1/s per chat, 20/min per group, 30/s per bot; drafts limited too
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.flood import Flood, Limit
from tests.fakes.local_server import LocalServer
from tests.fakes.telegram_files import FOLDERS, Upload, check_upload, file_path, get_file

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:TEST-token-abcdefghijklmnopqrstuvwxyz"
BOT_USERNAME = "deskmate_test_bot"
JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "entities", "reply_parameters",
               "link_preview_options", "caption_entities"}
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
             "tg-spoiler", "blockquote", "tg-emoji", "br"}


@dataclass(frozen=True)
class RetryAfter:
    seconds: int


@dataclass(frozen=True)
class BadRequest:
    description: str  # without the "Bad Request: " prefix


Failure = RetryAfter | BadRequest


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200  # 429 when the flood emulation refused it

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))


@dataclass
class SentMessage:
    chat_id: int
    message_id: int
    text: str  # visible text (HTML parsed)
    raw: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    thread_id: int | None = None
    reply_to: int | None = None
    edits: int = 0
    file: Upload | None = None  # sendDocument / sendPhoto: the file the user receives


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS and self.error is None:
            self.error = f'Unsupported start tag "{tag}"'
        if tag != "br":
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Unmatched end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> str:
    """The visible text of a Telegram HTML message; ValueError like Telegram's entity parser."""
    if re.search(r"<(?![a-zA-Z/])", text):
        raise ValueError("Unexpected character '<'")
    if re.search(r"&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)", text):
        raise ValueError("Character '&' is reserved and must be escaped with the preceding '\\'")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.error:
        raise ValueError(checker.error)
    if checker.stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"')
    return html.unescape("".join(checker.text))


class FakeBotAPI(LocalServer):
    """Use the `telegram_api` fixture, or `async with FakeBotAPI() as fake:`."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.drafts: list[Call] = []
        self.files: dict[str, bytes] = {}
        self.file_paths: dict[str, str] = {}
        self.chat_admins: dict[int, set[int]] = {}
        self.latency_s = 0.0  # added to every method call (a real server is ~50-150 ms away)
        self._failures: dict[str, deque[tuple[Failure, Callable[[dict[str, Any]], bool] | None]]] = {}
        self.flood_limits: dict[str, float] | None = None
        self.flooding = Flood()
        self.visible: dict[int, list[tuple[float, int]]] = {}  # chat -> (time, characters a user sees)
        self._last_draft: dict[int, str] = {}
        self._message_ids = itertools.count(100)
        self._update_ids = itertools.count(5000)
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0  # getUpdates offset: updates below it are confirmed
        self._new_update = asyncio.Event()
        self._changed = asyncio.Event()

    # -- scripting and inspection

    def fail(self, method: str, *failures: Failure, when: Callable[[dict[str, Any]], bool] | None = None) -> None:
        """The next calls of `method` (matching `when`, if given) fail, one failure per call."""
        self._failures.setdefault(method, deque()).extend((f, when) for f in failures)

    def flood(self, chat_per_s: float = 1.0, chat_burst: int = 3, group_per_min: float = 20.0,
              group_burst: int = 5, bot_per_s: float = 30.0, draft_per_s: float = 1.0, draft_burst: int = 3) -> None:
        """Answer 429 + retry_after beyond Telegram's flood limits for sendMessage, editMessageText and
        sendMessageDraft: per chat, per group (edits and the final message included), per bot."""
        self.flood_limits = {"chat_per_s": chat_per_s, "chat_burst": chat_burst, "group_per_min": group_per_min,
                             "group_burst": group_burst, "bot_per_s": bot_per_s, "draft_per_s": draft_per_s,
                             "draft_burst": draft_burst}

    def _flood_wait(self, method: str, params: dict[str, Any]) -> float:
        f = self.flood_limits
        if f is None or method not in ("sendMessage", "editMessageText", "sendMessageDraft"):
            return 0.0
        chat = int(params.get("chat_id") or 0)
        limits = [Limit("bot", f["bot_per_s"], 1.0, int(f["bot_per_s"]))]
        if method == "sendMessageDraft":
            limits.append(Limit(f"draft:{chat}", f["draft_per_s"], 1.0, int(f["draft_burst"])))
        else:
            limits.append(Limit(f"chat:{chat}", f["chat_per_s"], 1.0, int(f["chat_burst"])))
            if chat < 0:
                limits.append(Limit(f"group:{chat}", f["group_per_min"], 60.0, int(f["group_burst"])))
        return self.flooding.check(limits, method)

    def calls_of(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.method in methods]

    def chat_messages(self, chat_id: int) -> list[SentMessage]:
        return sorted((m for (c, _), m in self.messages.items() if c == chat_id), key=lambda m: m.message_id)

    def add_file(self, file_id: str, data: bytes, kind: str = "voice", extension: str = "oga") -> None:
        """A file a user sent (its file_id then goes in a message update); served by getFile + /file/."""
        self.files[file_id] = data
        self.file_paths[file_id] = f"{FOLDERS.get(kind, 'documents')}/{file_id}.{extension}"

    async def wait_for(self, condition: Callable[[], bool], within_s: float = 10.0) -> None:
        deadline = time.monotonic() + within_s
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met in {within_s}s; calls: {[c.method for c in self.calls]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))
            except TimeoutError:
                pass

    # -- updates

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def message_update(
        self, chat_id: int, text: str | None = None, *, user_id: int = 42, chat_type: str | None = None,
        language: str = "en", is_bot: bool = False, entities: list[dict[str, Any]] | None = None,
        reply_to_bot: bool = False, thread_id: int | None = None, update_id: int | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """A real-shaped `message` update (text, or other content passed as keyword: voice=..., photo=...)."""
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Test group"
        else:
            chat["first_name"] = "Ann"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
            "from": {"id": user_id, "is_bot": is_bot, "first_name": "Ann", "language_code": language},
        }
        if text is not None:
            message["text"] = text
        if entities:
            message["entities"] = entities
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to_bot:
            message["reply_to_message"] = {
                "message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "text": "earlier",
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Deskmate", "username": BOT_USERNAME},
            }
        message.update(content)
        return {"update_id": update_id if update_id is not None else self.next_update_id(), "message": message}

    def callback_update(self, chat_id: int, message_id: int, data: str, user_id: int = 42) -> dict[str, Any]:
        chat_type = "private" if chat_id > 0 else "supergroup"
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": f"cb{next(self._update_ids)}", "chat_instance": "ci-1", "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": "Ann", "language_code": "en"},
                "message": {
                    "message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": chat_type},
                    "text": "answer", "from": {"id": BOT_ID, "is_bot": True, "first_name": "Deskmate"},
                },
            },
        }

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (long polling)."""
        self._updates.append(update)
        self._new_update.set()

    # -- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)

    async def before_stop(self) -> None:
        self._new_update.set()

    # -- the wire

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    def _bad(self, description: str) -> web.Response:
        return self._error(400, f"Bad Request: {description}")

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for k, v in form.items():
            if isinstance(v, web.FileField):  # multipart upload (sendDocument, sendPhoto)
                params[k] = Upload(v.filename, v.file.read(), v.content_type)
                continue
            if not isinstance(v, str):
                continue
            params[k] = json.loads(v) if k in JSON_FIELDS else v
        return params

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        if method != "getUpdates":
            self.calls.append(Call(method, params))
            self._changed.set()
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        flood_wait = self._flood_wait(method, params)
        if flood_wait > 0:
            seconds = max(1, math.ceil(flood_wait))
            self.calls[-1].status = 429
            return self._error(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        queue = self._failures.get(method)
        if queue:
            for i, (failure, when) in enumerate(queue):
                if when is None or when(params):
                    del queue[i]
                    if isinstance(failure, RetryAfter):
                        return self._error(429, f"Too Many Requests: retry after {failure.seconds}",
                                           {"retry_after": failure.seconds})
                    return self._bad(failure.description)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        response = await handler(params)
        if response.status == 200 and method in ("sendMessage", "editMessageText", "sendMessageDraft"):
            self._note_visible(method, params)
        return response

    def _note_visible(self, method: str, params: dict[str, Any]) -> None:
        chat = int(params["chat_id"])
        if method == "sendMessageDraft":
            self._last_draft[chat] = self.drafts[-1].text if self.drafts else ""
            try:
                self._last_draft[chat] = parse_html(self._last_draft[chat]) if params.get("parse_mode") else \
                    self._last_draft[chat]
            except ValueError:
                pass
        elif method == "sendMessage":
            self._last_draft.pop(chat, None)  # the draft became this message
        shown = sum(len(m.text) for m in self.chat_messages(chat)) + len(self._last_draft.get(chat, ""))
        self.visible.setdefault(chat, []).append((time.monotonic(), shown))

    def _bot_user(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Deskmate", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def _visible(self, params: dict[str, Any]) -> tuple[str | None, web.Response | None]:
        raw = str(params.get("text", ""))
        mode = params.get("parse_mode")
        visible = raw
        if mode and str(mode).upper() == "HTML":
            try:
                visible = parse_html(raw)
            except ValueError as exc:
                return None, self._bad(f"can't parse entities: {exc}")
        elif mode:
            return None, self._bad(f"unsupported parse_mode {mode}")
        if not visible.strip():
            return None, self._bad("message text is empty")
        if len(visible.encode("utf-16-le")) // 2 > 4096:
            return None, self._bad("message is too long")
        return visible, None

    def _message_json(self, m: SentMessage) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": m.message_id, "date": int(time.time()), "text": m.text,
            "chat": {"id": m.chat_id, "type": "private" if m.chat_id > 0 else "supergroup"},
            "from": self._bot_user(),
        }
        if m.reply_markup:
            result["reply_markup"] = m.reply_markup
        if m.edits:
            result["edit_date"] = int(time.time())
        return result

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self._bot_user())

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        visible, error = self._visible(params)
        if error:
            return error
        chat_id = int(params["chat_id"])
        reply = params.get("reply_parameters") or {}
        thread = params.get("message_thread_id")
        m = SentMessage(chat_id=chat_id, message_id=next(self._message_ids), text=visible or "",
                        raw=str(params.get("text")), parse_mode=params.get("parse_mode"),
                        reply_markup=params.get("reply_markup"), thread_id=int(thread) if thread else None,
                        reply_to=reply.get("message_id") if isinstance(reply, dict) else None)
        self.messages[(chat_id, m.message_id)] = m
        return self._ok(self._message_json(m))

    async def _m_sendMessageDraft(self, params: dict[str, Any]) -> web.Response:
        if int(params["chat_id"]) < 0:
            return self._bad("chat not found")  # drafts exist in private chats only
        if not str(params.get("draft_id", "0")).strip("0"):
            return self._bad("draft_id must be non-zero")
        _, error = self._visible(params)
        if error:
            return error
        self.drafts.append(Call("sendMessageDraft", params))
        return self._ok(True)

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:
        visible, error = self._visible(params)
        if error:
            return error
        key = (int(params["chat_id"]), int(params["message_id"]))
        m = self.messages.get(key)
        if m is None:
            return self._bad("message to edit not found")
        markup = params.get("reply_markup")
        if m.raw == params.get("text") and m.parse_mode == params.get("parse_mode") and m.reply_markup == markup:
            return self._bad("message is not modified: specified new message content and reply markup are "
                             "exactly the same as a current content and reply markup of the message")
        m.text, m.raw, m.parse_mode, m.reply_markup = visible or "", str(params["text"]), params.get("parse_mode"), markup
        m.edits += 1
        return self._ok(self._message_json(m))

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> web.Response:
        m = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
        if m is None:
            return self._bad("message to edit not found")
        m.reply_markup = params.get("reply_markup")
        return self._ok(self._message_json(m))

    async def _m_deleteMessage(self, params: dict[str, Any]) -> web.Response:
        if self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None) is None:
            return self._bad("message to delete not found")
        return self._ok(True)

    async def _m_getChatMember(self, params: dict[str, Any]) -> web.Response:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = "administrator" if user_id in self.chat_admins.get(chat_id, set()) else "member"
        user = {"id": user_id, "is_bot": False, "first_name": "Ann"}
        if status == "administrator":
            return self._ok({"status": status, "user": user, "can_be_edited": False, "is_anonymous": False,
                             "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
                             "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                             "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                             "can_delete_stories": False, "can_send_welcome_messages": False})
        return self._ok({"status": status, "user": user})

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        found = get_file(self.files, self.file_paths, params)
        return found if isinstance(found, web.Response) else self._ok(found)

    async def _send_file(self, method: str, field: str, params: dict[str, Any]) -> web.Response:
        upload = check_upload(method, field, params)
        if isinstance(upload, web.Response):
            return upload
        chat_id, thread = int(params["chat_id"]), params.get("message_thread_id")
        m = SentMessage(chat_id=chat_id, message_id=next(self._message_ids), text=str(params.get("caption") or ""),
                        raw="", parse_mode=None, reply_markup=None, thread_id=int(thread) if thread else None,
                        file=upload)
        self.messages[(chat_id, m.message_id)] = m
        result = self._message_json(m)
        result.pop("text", None)  # a file message has a caption, not a text
        if m.text:
            result["caption"] = m.text
        kind = "photo" if field == "photo" else "document"
        result[kind] = {"file_id": f"sent{m.message_id}", "file_unique_id": f"us{m.message_id}",
                        "file_size": len(upload.data), **({"file_name": upload.filename} if kind == "document" else
                                                          {"width": 1, "height": 1})}
        if kind == "photo":
            result["photo"] = [result["photo"]]
        return self._ok(result)

    async def _m_sendDocument(self, params: dict[str, Any]) -> web.Response:
        return await self._send_file("sendDocument", "document", params)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> web.Response:
        return await self._send_file("sendPhoto", "photo", params)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        file_id = next((f for f in self.files if file_path(self.file_paths, f) == path), None)
        if request.match_info["token"] != TOKEN or file_id is None:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        if offset:
            self._confirmed = max(self._confirmed, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        if not self._updates and timeout:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), min(timeout, 1.0))
            except TimeoutError:
                pass
        limit = int(params.get("limit") or 100)
        return self._ok(self._updates[:limit])

    async def _m_deleteMessage(self, params: dict[str, Any]) -> web.Response:
        if self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None) is None:
            return self._bad("message to delete not found")
        return self._ok(True)

    async def _simple_true(self, params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    _m_sendChatAction = _m_setMyCommands = _m_deleteMyCommands = _simple_true
    _m_setWebhook = _m_deleteWebhook = _m_answerCallbackQuery = _simple_true


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeBotAPI]:
    """A fresh fake Bot API on 127.0.0.1:<ephemeral port>; set DESKMATE_TELEGRAM__API_URL to `.base_url`."""
    fake = FakeBotAPI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
