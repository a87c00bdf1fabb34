"""Telegram settings. Telegram starts in `deskmate serve` when the token is set."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr

from core.config_types import CommaList


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    admin_users: CommaList = []
    api_url: str = "https://api.telegram.org"
    bot: str = "support"  # bot profile Telegram serves

    @property
    def enabled(self) -> bool:
        return self.token is not None
