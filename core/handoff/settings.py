"""Handoff settings: the deployment's (`DESKMATE_HANDOFF__*`) and each bot profile's `handoff:` section."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

REASONS = ("asked", "abstained", "downvotes", "tool_failed")


class HandoffSettings(BaseModel):
    """`DESKMATE_HANDOFF__INBOX_CHANNEL=C0123` turns the operator inbox on (a Slack channel the bot is in)."""

    model_config = ConfigDict(extra="forbid")

    inbox_channel: str | None = None  # Slack channel id of the operator inbox; unset = no human handoff
    show_pii: bool = False  # agents see personal data in clear; default: masked, as the model sees it
    recent_turns: int = Field(default=6, ge=0, le=30)  # last turns shown in the inbox thread
    sweep_interval_s: float = Field(default=30.0, gt=0)  # how often timeouts are checked (any worker)
    keep_days: int = Field(default=90, ge=1)  # handoff records kept for `deskmate report`
    inbox_language: str = "en"  # language of the inbox cards and buttons agents see (en, ru)
    # Files in a handoff. The PII masker cannot read file contents, so by default ("follow_pii") a customer's
    # files reach agents only when agents may see personal data (show_pii); otherwise the thread gets a note and
    # the customer is asked to describe it. "both": customers' files always reach agents (an explicit decision);
    # "to_customer": only agents' files go out; "off": no file is copied, each side is told.
    files: Literal["follow_pii", "both", "to_customer", "off"] = "follow_pii"

    @property
    def customer_files(self) -> bool:
        return self.files == "both" or (self.files == "follow_pii" and self.show_pii)

    @property
    def agent_files(self) -> bool:
        return self.files != "off"


class Triggers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    asked: bool = True  # the user asks for a person (any language), `/human`, or the button
    abstained: bool = True  # the knowledge base had nothing reliable
    downvotes: bool = True  # two 👎 in a row
    tool_failed: bool = True  # a tool call failed


class HandoffOptions(BaseModel):
    """A bot profile's `handoff:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    triggers: Triggers = Triggers()
    wait_minutes: float = Field(default=10.0, gt=0)  # no agent took it by then: ticket, back to the bot
    idle_hours: float = Field(default=24.0, gt=0)  # a handoff with no message for this long resolves itself
    # the "talk to a person" button: under uncertain answers (abstained / low evidence) and the welcome text,
    # under every answer, or nowhere (`/human` and asking in words still work)
    button: Literal["uncertain", "always", "off"] = "uncertain"

    def on(self, reason: str) -> bool:
        return self.enabled and bool(getattr(self.triggers, reason, False))


def parse_options(section: dict[str, Any], profile: str) -> HandoffOptions:
    try:
        return HandoffOptions.model_validate(section or {})
    except ValueError as exc:
        raise ValueError(f"bot profile {profile!r}: invalid handoff section: {exc}") from None
