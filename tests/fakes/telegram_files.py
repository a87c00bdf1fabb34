"""The Bot API's file methods for the fake (tests/fakes/telegram_api.py), with Telegram's wire formats and limits:

- `getFile` answers `file_path` + `file_size`, and refuses files over 20 MB ("Bad Request: file is too big"), as
  the public Bot API does; the bytes are served at `/file/bot<token>/<file_path>`;
- `sendDocument` / `sendPhoto` take a multipart upload (a `document` / `photo` file part, or `attach://<name>`
  naming the part, beside the chat_id, caption, message_thread_id form fields), refuse more than 50 MB (413 "Request Entity Too Large") and photos
  over 10 MB; what was sent is kept as a message with its file (`SentMessage.file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

MB = 1024 * 1024
DOWNLOAD_LIMIT = 20 * MB
UPLOAD_LIMIT = 50 * MB
PHOTO_LIMIT = 10 * MB
FOLDERS = {"photo": "photos", "document": "documents", "voice": "voice", "audio": "music", "video": "videos"}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str


def error(code: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": code, "description": description}, status=code)


def file_path(paths: dict[str, str], file_id: str) -> str:
    return paths.get(file_id, f"voice/{file_id}.oga")


def get_file(files: dict[str, bytes], paths: dict[str, str], params: dict[str, Any]) -> dict[str, Any] | web.Response:
    file_id = str(params["file_id"])
    if file_id not in files:
        return error(400, "Bad Request: invalid file_id")
    if len(files[file_id]) > DOWNLOAD_LIMIT:
        return error(400, "Bad Request: file is too big")
    return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(files[file_id]),
            "file_path": file_path(paths, file_id)}


def check_upload(method: str, field: str, params: dict[str, Any]) -> Upload | web.Response:
    upload = params.get(field)
    if isinstance(upload, str) and upload.startswith("attach://"):  # the file part named elsewhere in the form
        upload = params.get(upload.removeprefix("attach://"))
    if "chat_id" not in params:
        return error(400, "Bad Request: chat_id is empty")
    if not isinstance(upload, Upload):
        return error(400, f"Bad Request: there is no {field} in the request")
    if len(upload.data) > UPLOAD_LIMIT:
        return error(413, "Request Entity Too Large")
    if method == "sendPhoto" and len(upload.data) > PHOTO_LIMIT:
        return error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    return upload
