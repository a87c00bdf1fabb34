"""What the handoff desk needs from the platforms: an operator inbox and a way to reach each customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from core.handoff.files import FileData, FileRef
from core.handoff.state import Handoff
from core.models import Attachment


@dataclass(frozen=True)
class Card:
    """The inbox thread's first message: who, why, in which language, and what was said (masked unless allowed)."""

    reason: str  # a text key: handoff_reason_<reason>
    language: str
    summary: str
    turns: list[tuple[str, str]] = field(default_factory=list)  # (role "user"/"assistant", text)


class Inbox(Protocol):
    """The operator inbox (a Slack channel): one thread per handoff, with Take / Resolve / Hand back buttons."""

    channel: str

    async def open_thread(self, handoff: Handoff, card: Card) -> str:
        """Post the card; the thread's ts."""
        ...

    async def refresh(self, handoff: Handoff) -> None:
        """Show the current status on the card (who took it, resolved, ...)."""
        ...

    async def post(self, handoff: Handoff, text: str, kind: str) -> None:
        """Post into the thread: `kind` "customer" (their message) or "note" (status notes, tickets)."""
        ...

    async def ticket_card(self, handoff: Handoff, number: str, status: str) -> None:
        """A ticket in the thread, with status buttons."""
        ...

    async def note_in(self, thread_ts: str, text: str) -> None:
        """A note in a thread whose handoff is over (e.g. "not delivered: back with the bot")."""
        ...

    async def upload(self, handoff: Handoff, file: FileData, comment: str) -> None:
        """Put a customer's file into the thread, with `comment` (who sent what)."""
        ...

    async def fetch(self, file: FileRef, limit: int) -> bytes:
        """Download a file an agent posted in the thread; FileTooLarge above `limit` bytes."""
        ...


class CustomerChannel(Protocol):
    """Delivers an agent's words (or a status note) and files to the customer in their own chat, and fetches the
    files the customer sends. `fetch_limit` / `send_limit`: the largest file (bytes) the platform lets a bot
    download / send."""

    fetch_limit: int
    send_limit: int

    async def deliver(self, handoff: Handoff, text: str) -> None: ...

    async def fetch(self, handoff: Handoff, attachment: Attachment, limit: int) -> bytes:
        """The bytes of a customer's attachment; FileTooLarge above `limit`."""
        ...

    async def send_file(self, handoff: Handoff, file: FileData) -> None: ...
