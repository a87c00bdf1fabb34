"""Slack's file wire formats for the fake Slack (tests/fakes/slack_api.py):

- upload, as Slack's current flow: `files.getUploadURLExternal` (filename, length) -> `{upload_url, file_id}`;
  POST the bytes to `upload_url` (raw body or a multipart `file` part; 200 "OK - <length>"); then
  `files.completeUploadExternal` (files=[{"id", "title"}], channel_id, thread_ts, initial_comment) shares them as
  one message in the channel/thread. A file whose bytes never arrived, or whose length differs, is refused.
- download: `add_file` makes a file as an agent's `file_share` event shows it (id, name, mimetype, size,
  url_private, url_private_download); the URL answers the bytes with `Authorization: Bearer xoxb-...`, and
  Slack's HTML login page without it (as Slack does: 200 text/html, not 401).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class SlackFile:
    id: str
    name: str
    title: str = ""
    data: bytes = b""
    length: int = 0
    mimetype: str = "application/octet-stream"
    uploaded: bool = False
    shared_in: list[tuple[str, str | None]] = field(default_factory=list)  # (channel, thread_ts)


class SlackFiles:
    """Owned by FakeSlack (`slack.files`): the file store and the HTTP routes of upload and download."""

    def __init__(self, port: Any) -> None:
        self._port = port  # a callable: the fake's port once it listens
        self.store: dict[str, SlackFile] = {}
        self._ids = itertools.count(1)
        self.downloads: list[tuple[str, bool]] = []  # (file id, authorized)

    def base(self) -> str:
        return f"http://127.0.0.1:{self._port()}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._download)

    # -- download (an agent's file in a thread)

    def add_file(self, name: str, data: bytes, mimetype: str = "application/octet-stream",
                 size: int | None = None) -> dict[str, Any]:
        """A file an agent uploaded; returns the `files[]` entry of its message event. `size`: what the event
        claims (default: the real length)."""
        f = SlackFile(id=f"F{next(self._ids):08d}", name=name, title=name, data=data, length=len(data),
                      mimetype=mimetype, uploaded=True)
        self.store[f.id] = f
        url = f"{self.base()}/files-pri/T1-{f.id}/download/{name}"
        return {"id": f.id, "name": name, "title": name, "mimetype": mimetype, "filetype": name.rpartition(".")[2],
                "size": len(data) if size is None else size, "mode": "hosted", "is_external": False,
                "url_private": url.replace("/download/", "/"), "url_private_download": url}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["team_file"].split("-", 1)[-1]
        authorized = request.headers.get("Authorization", "").startswith("Bearer xoxb-")
        self.downloads.append((file_id, authorized))
        f = self.store.get(file_id)
        if not authorized:
            return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>",
                                content_type="text/html")
        if f is None:
            raise web.HTTPNotFound()
        return web.Response(body=f.data, content_type=f.mimetype)

    # -- upload (a customer's file into the inbox thread)

    def get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        name, length = args.get("filename"), args.get("length")
        if not name or not str(length or "").isdigit() or int(length) <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        f = SlackFile(id=f"F{next(self._ids):08d}", name=str(name), length=int(length))
        self.store[f.id] = f
        return {"ok": True, "upload_url": f"{self.base()}/upload/v1/{f.id}", "file_id": f.id}

    async def _upload(self, request: web.Request) -> web.Response:
        f = self.store.get(request.match_info["file_id"])
        if f is None:
            return web.Response(status=404, text="not found")
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = form.get("file") or form.get("filename")
            data = part.file.read() if isinstance(part, web.FileField) else str(part or "").encode()
        else:
            data = await request.read()
        f.data, f.uploaded = data, True
        return web.Response(text=f"OK - {len(data)}")

    def complete(self, args: dict[str, Any]) -> tuple[dict[str, Any], list[SlackFile]]:
        try:
            entries = json.loads(args.get("files") or "[]")
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}, []
        done: list[SlackFile] = []
        for entry in entries:
            f = self.store.get(str(entry.get("id")))
            if f is None or not f.uploaded or len(f.data) != f.length:
                return {"ok": False, "error": "file_upload_size_mismatch" if f and f.uploaded
                        else "invalid_file_id"}, []
            f.title = str(entry.get("title") or f.name)
            done.append(f)
        if not done:
            return {"ok": False, "error": "invalid_arguments"}, []
        shown = [{"id": f.id, "name": f.name, "title": f.title, "size": len(f.data)} for f in done]
        return {"ok": True, "files": shown}, done
