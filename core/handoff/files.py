"""Files in a handoff, copied both ways: a customer's photo or document into the inbox thread, an agent's file
into the customer's chat. The bytes go from one platform to the other in memory: never to the model, the logs,
the cache or the memory store (the memory keeps "[attachment: photo]", no name, no content).

Limits are the platforms' (the ports say them: a Telegram bot downloads at most 20 MB and sends at most 50 MB).
Above a limit, or when a copy fails, both sides are told in their language: nothing is dropped silently.

Personal data: the PII masker reads text, not file contents. A customer's file reaches agents only when the
deployment says so (`DESKMATE_HANDOFF__FILES`, core/handoff/settings.py): by default only where agents may see
personal data anyway (`DESKMATE_HANDOFF__SHOW_PII`); otherwise the thread gets a note with the kind and size only
(a file name can hold a name too) and the customer is asked to describe it in words. Fail closed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from core.models import Attachment
from core.texts import text

if TYPE_CHECKING:
    from core.handoff.desk import HandoffDesk
    from core.handoff.state import Handoff

log = structlog.get_logger("deskmate.handoff.files")

NAME_CHARS = 100
_UNSAFE = re.compile(r"[^\w.\- ()+]+")
DEFAULT_NAMES = {"photo": "photo.jpg", "voice": "voice.ogg", "audio": "audio.mp3", "video": "video.mp4",
                 "document": "document", "sticker": "sticker.webp", "other": "file"}


@dataclass(frozen=True)
class FileData:
    name: str  # sanitised
    data: bytes
    mime_type: str | None = None
    kind: str = "document"


@dataclass(frozen=True)
class FileRef:
    """A file an agent posted in the thread: the inbox's handle (`ref`, e.g. Slack's url_private_download)."""

    name: str
    ref: str
    size: int | None = None
    mime_type: str | None = None


class FileTooLarge(Exception):
    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"{size} > {limit}")
        self.size = size
        self.limit = limit


def sanitize_name(name: str | None, fallback: str = "file") -> str:
    """A file name safe for any platform and file system: no directories (`../`, `C:\\`), no control or
    markup characters, no leading dots, at most 100 characters with the extension kept; `fallback` if empty."""
    raw = unicodedata.normalize("NFC", str(name or ""))
    raw = re.split(r"[/\\]", raw)[-1]  # path traversal: only the last part counts
    raw = "".join(ch for ch in raw if ch.isprintable())
    clean = _UNSAFE.sub("_", raw).strip(" ._")
    clean = re.sub(r"_+", "_", clean)
    if not clean or not re.search(r"\w", clean):
        clean = fallback
    if len(clean) > NAME_CHARS:
        stem, dot, ext = clean.rpartition(".")
        ext = ext if dot and len(ext) <= 10 else ""
        clean = (stem if ext else clean)[:NAME_CHARS - len(ext) - 1].rstrip(" ._") + (f".{ext}" if ext else "")
    return clean


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def note(key: str, item: str, language: str, **params: object) -> str:
    """One part of a packed `name=text|name=text` text, formatted."""
    parts = dict(part.split("=", 1) for part in text(key, language).split("|") if "=" in part)
    return parts.get(item, item).format(**params)


async def from_customer(desk: HandoffDesk, h: Handoff, attachments: Sequence[Attachment]) -> None:
    """Copy the customer's files into the thread, or tell both sides why not."""
    inbox, customer = desk.inbox, desk.customers.get(h.platform)
    if inbox is None:
        return
    agents = desk.settings.inbox_language
    for a in attachments:
        size = human_size(a.size)
        if customer is None or not desk.settings.customer_files:
            await inbox.post(h, note("inbox_file_notes", "not_passed_in", agents, kind=a.kind, size=size), "note")
            await desk.tell(h, note("handoff_file_notes", "not_passed", h.language))
            continue
        name = sanitize_name(a.name, DEFAULT_NAMES.get(a.kind, "file"))
        limit = customer.fetch_limit
        try:
            if a.size is not None and a.size > limit:
                raise FileTooLarge(a.size, limit)
            data = await customer.fetch(h, a, limit)
            await inbox.upload(h, FileData(name, data, a.mime_type, a.kind),
                               note("inbox_file_notes", "customer_file", agents, name=name, size=human_size(len(data))))
            log.info("handoff_file_to_inbox", handoff=h.id, kind=a.kind, bytes=len(data))
        except FileTooLarge as exc:
            log.info("handoff_file_too_large", handoff=h.id, kind=a.kind, size=exc.size, limit=exc.limit)
            limit_shown = human_size(exc.limit)
            shown = human_size(exc.size) if exc.size and exc.size > exc.limit else f"> {limit_shown}"
            await inbox.post(h, note("inbox_file_notes", "too_big_in", agents, kind=a.kind, size=shown,
                                     limit=limit_shown), "note")
            await desk.tell(h, note("handoff_file_notes", "too_big", h.language, limit=limit_shown))
        except Exception as exc:
            log.warning("handoff_file_to_inbox_failed", handoff=h.id, kind=a.kind, error=type(exc).__name__)
            await inbox.post(h, note("inbox_file_notes", "failed_in", agents, kind=a.kind, size=size), "note")
            await desk.tell(h, note("handoff_file_notes", "failed", h.language))


async def from_agent(desk: HandoffDesk, h: Handoff, files: Sequence[FileRef]) -> int:
    """Send the agent's files to the customer; a note in the thread for each one that could not go. The count
    delivered."""
    inbox, customer = desk.inbox, desk.customers.get(h.platform)
    if inbox is None:
        return 0
    agents, sent = desk.settings.inbox_language, 0
    for f in files:
        name = sanitize_name(f.name)
        size = human_size(f.size)
        if customer is None or not desk.settings.agent_files:
            await inbox.post(h, note("inbox_file_notes", "off_out", agents), "note")
            continue
        limit = customer.send_limit
        try:
            if f.size is not None and f.size > limit:
                raise FileTooLarge(f.size, limit)
            data = await inbox.fetch(f, limit)
            await customer.send_file(h, FileData(name, data, f.mime_type, kind_of(f.mime_type)))
            sent += 1
            log.info("handoff_file_to_customer", handoff=h.id, bytes=len(data))
        except FileTooLarge as exc:
            limit_shown = human_size(exc.limit)
            shown = human_size(exc.size) if exc.size and exc.size > exc.limit else f"> {limit_shown}"
            await inbox.post(h, note("inbox_file_notes", "too_big_out", agents, name=name, size=shown,
                                     limit=limit_shown), "note")
        except Exception as exc:
            log.warning("handoff_file_to_customer_failed", handoff=h.id, error=type(exc).__name__)
            await inbox.post(h, note("inbox_file_notes", "failed_out", agents, name=name, size=size), "note")
    return sent


def kind_of(mime: str | None) -> str:
    mime = mime or ""
    return ("photo" if mime in ("image/jpeg", "image/png") else "video" if mime.startswith("video/")
            else "audio" if mime.startswith("audio/") else "document")
