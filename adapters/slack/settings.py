"""Slack settings. Slack starts in `deskmate serve` when bot_token and signing_secret are set."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from core.config_types import CommaList


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None  # xapp-...: Socket Mode instead of HTTP
    admin_users: CommaList = []
    api_url: str = "https://slack.com/api/"
    bot: str = "helpdesk"  # bot profile Slack serves

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and (self.signing_secret is not None or self.app_token is not None)
