"""Telegram settings. Telegram starts in `deskmate serve` when the token is set."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from core.config_types import CommaList


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None  # public https URL Telegram posts to; its path should be /telegram/webhook
    webhook_secret: SecretStr | None = None  # echoed by Telegram in X-Telegram-Bot-Api-Secret-Token
    admin_users: CommaList = []  # Telegram user ids allowed to run admin commands everywhere
    api_url: str = "https://api.telegram.org"  # Bot API server base URL (local Bot API server, test server)
    bot: str = "support"  # bot profile Telegram serves
    # Media: a litellm model string each; unset = a polite "I can only read text here".
    speech_model: str | None = None  # e.g. "openai/whisper-1" (voice messages)
    vision_model: str | None = None  # e.g. "openai/gpt-4o-mini" (photos)
    media_api_base: str | None = None  # endpoint for the two models above (default: the provider's)
    media_api_key: SecretStr | None = None
    max_media_bytes: int = Field(default=20 * 1024 * 1024, gt=0)  # Bot API getFile limit is 20 MB
    # Streaming pace (seconds between updates of the visible reply); every call is also paid from shared rate
    # budgets in Redis (per chat ~1/s, per group ~20/min, per bot ~30/s) that slow down on each retry_after.
    draft_interval_s: float = Field(default=1.0, gt=0)  # sendMessageDraft, private chats
    edit_interval_s: float = Field(default=1.0, gt=0)  # editMessageText, groups or when drafts are refused
    max_interval_s: float = Field(default=10.0, gt=0)  # unused since the shared budgets (kept for old configs)
    polling_timeout_s: int = Field(default=30, ge=0, le=50)  # long-polling wait of getUpdates

    @property
    def enabled(self) -> bool:
        return self.token is not None

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> TelegramSettings:
        if self.enabled and self.mode == "webhook" and (not self.webhook_url or self.webhook_secret is None):
            raise ValueError("webhook mode needs DESKMATE_TELEGRAM__WEBHOOK_URL and DESKMATE_TELEGRAM__WEBHOOK_SECRET")
        return self
