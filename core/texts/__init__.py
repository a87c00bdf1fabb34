"""Every text Deskmate shows to a user, in one place, per language: core/texts/en.py and core/texts/ru.py
hold the tables (the same keys in both), this module looks texts up."""

from __future__ import annotations

from typing import Any

from core.texts.en import EN
from core.texts.ru import RU

TEXTS: dict[str, dict[str, str]] = {"en": EN, "ru": RU}


def has_text(key: str) -> bool:
    """Whether `key` names a text (e.g. a stats label that is a text key rather than a literal name)."""
    return key in TEXTS["en"]


def render(value: Any, locale: str | None = "en") -> str:
    """A value for a reader: `(key, {params})` is the text `key` in `locale` (params rendered the same way),
    a text key alone is that text, anything else is shown as it is."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], dict):
        return text(value[0], locale, **{k: render(v, locale) for k, v in value[1].items()})
    if isinstance(value, str) and has_text(value):
        return text(value, locale)
    return str(value)


def text(key: str, locale: str | None = "en", **params: Any) -> str:
    """The user-facing text `key` in `locale` (falls back to English), formatted with params."""
    lang = (locale or "en").split("-")[0].split("_")[0].lower()
    table = TEXTS.get(lang, TEXTS["en"])
    template = table.get(key) or TEXTS["en"].get(key) or TEXTS["en"]["internal"]
    return template.format(**params) if params else template
