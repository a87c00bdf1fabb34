"""Block Kit pieces Deskmate adds to its messages: sources, feedback buttons, confirm/cancel buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.slack.mrkdwn import escape, link
from core.handoff.files import note
from core.models import Citation, numbered
from core.texts import text

FEEDBACK_UP = "deskmate_feedback_up"
FEEDBACK_DOWN = "deskmate_feedback_down"
CONFIRM = "deskmate_confirm"
CANCEL = "deskmate_cancel"
PERSON = "deskmate_person"
SECTION_CHARS = 3_000  # Block Kit limit for a section's text
CONTEXT_CHARS = 2_000


def sources(citations: Sequence[Citation], language: str | None = "en") -> list[dict[str, Any]]:
    """A context block listing the sources as links, numbered like the [n] marks in the answer."""
    if not citations:
        return []
    parts: list[str] = []
    for n, c in numbered(citations):
        label = " — ".join(p for p in (c.title, c.section) if p) or c.source_id
        shown = link(c.url, label) if c.url.startswith(("http://", "https://")) else escape(label)
        parts.append(f"[{n}] {shown}")
    line = f"*{text('sources_label', language)}:* " + "  ".join(parts)
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": line[:CONTEXT_CHARS]}]}]


def feedback(reply_id: str, language: str | None = "en", person_for: str | None = None) -> list[dict[str, Any]]:
    """👍 👎, and "talk to a person" when `person_for` (the asker's user id) is given: its value carries the
    answer's language and the asker (`<lang>|<user>|<reply id>`), so a stranger's press can be refused."""
    elements: list[dict[str, Any]] = [
        {"type": "button", "action_id": FEEDBACK_UP, "value": reply_id,
         "text": {"type": "plain_text", "text": "👍", "emoji": True},
         "accessibility_label": text("button_helpful", language)},
        {"type": "button", "action_id": FEEDBACK_DOWN, "value": reply_id,
         "text": {"type": "plain_text", "text": "👎", "emoji": True},
         "accessibility_label": text("button_not_helpful", language)},
    ]
    if person_for is not None:
        lang = (language or "en")[:2]
        elements.append({"type": "button", "action_id": PERSON, "value": f"{lang}|{person_for}|{reply_id}",
                         "text": {"type": "plain_text", "text": note("handoff_person", "label", lang), "emoji": True}})
    return [{"type": "actions", "block_id": f"feedback:{reply_id}"[:255], "elements": elements}]


def person_press(value: str) -> tuple[str, str, str]:
    """(language, asker, reply id) from a "talk to a person" button's value."""
    lang, _, rest = value.partition("|")
    owner, _, reply_id = rest.partition("|")
    return lang or "en", owner, reply_id


def confirmation(proposal_id: str, summary_mrkdwn: str, owner: str = "",
                 language: str | None = "en") -> list[dict[str, Any]]:
    """The proposal with Confirm/Cancel; `owner` (the asker's user id) rides in the block id so a stranger's
    press leaves the buttons in place for the owner (core refuses the stranger either way)."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary_mrkdwn[:SECTION_CHARS]}},
        {"type": "actions", "block_id": f"proposal:{proposal_id}:{owner}"[:255], "elements": [
            {"type": "button", "action_id": CONFIRM, "value": proposal_id, "style": "primary",
             "text": {"type": "plain_text", "text": text("button_confirm", language)}},
            {"type": "button", "action_id": CANCEL, "value": proposal_id,
             "text": {"type": "plain_text", "text": text("button_cancel", language)}},
        ]},
    ]


def proposal_owner(block_id: str) -> str:
    """The owner user id from a proposal block id (`proposal:<id>:<user>`); "" when absent."""
    parts = block_id.split(":")
    return parts[2] if len(parts) >= 3 and parts[0] == "proposal" else ""


def text_sections(mrkdwn: str) -> list[dict[str, Any]]:
    """The message text as section blocks (each at most 3,000 characters)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": part}}
            for part in split_text(mrkdwn, SECTION_CHARS) if part.strip()]


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph, line or word boundaries so every part fits `limit`; joins back to the text."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut + 1 if cut > limit // 2 else limit
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts
