"""Per-bot PII options: the profile's `pii:` section, validated here."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import ConfigError

# Entities masked when a bot does not choose. Names and secrets, contact details, street addresses, payment and
# identity numbers, dates of birth; not a city alone, other dates or organisations (support questions need them).
DEFAULT_ENTITIES: tuple[str, ...] = (
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS",
    "URL_CREDENTIALS", "API_KEY", "RU_PASSPORT", "RU_INN", "RU_SNILS", "STREET_ADDRESS", "DATE_OF_BIRTH",
)


class BotPiiOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entities: tuple[str, ...] = DEFAULT_ENTITIES
    score_threshold: float = Field(default=0.4, ge=0, le=1)
    allow_list: tuple[str, ...] = ()  # exact values never masked, e.g. the company's support email
    # None = the bot profile's `languages`. "script": Cyrillic text is analysed as Russian, other text as
    # the first non-Russian language; "fixed": always the first language.
    languages: tuple[str, ...] | None = None
    detect: Literal["script", "fixed"] = "script"

    @field_validator("entities")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one entity is needed (switch the `pii` feature off instead)")
        return tuple(v.upper() for v in value)


def parse_options(raw: dict[str, Any], profile_languages: tuple[str, ...], bot: str) -> BotPiiOptions:
    """Validate a profile's `pii:` section; a bad one is a ConfigError naming the bot."""
    try:
        options = BotPiiOptions.model_validate(raw)
    except ValueError as exc:
        raise ConfigError(f"bot profile {bot!r}: invalid `pii:` section: {exc}") from None
    if options.languages is None:
        options = options.model_copy(update={"languages": tuple(profile_languages) or ("en",)})
    return options
