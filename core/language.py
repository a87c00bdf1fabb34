"""Which language one message is written in, so the reply (and every system text) follows the message.

The platform's UI locale says how the client is set up, not what the user wrote: a Russian question from an
English-locale Slack gets a Russian answer. Russian and English are told apart by script: a message whose
letters are mostly Cyrillic is Russian, one whose letters are mostly Latin is English. Letters inside codes
and versions (`ERR-4040`, `v15`, `DM-PRO-200`) do not count, and a message with too few letters left
(an emoji, "ok", a bare ticket number) has no language of its own: the caller's fallback decides.
Russian typed in Latin letters ("skolko dnei otpuska mne polozheno") is Russian (core/translit.py: its words
read as Russian dictionary words that are not English ones).
"""

from __future__ import annotations

import re

from core.translit import russian_reading

_TOKEN = re.compile(r"\S+")
_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z]")
MIN_LETTERS = 3  # fewer letters than this (outside codes): undecided ("ok", "hi")...
MIN_CYRILLIC = 2  # ...but a short Russian reply ("да", "ок") is still Russian


def detect_language(text: str) -> str | None:
    """"ru", "en", or None when the text is too short or in another script to tell."""
    words = [t for t in _TOKEN.findall(text or "") if not any(ch.isdigit() for ch in t)]
    joined = " ".join(words)
    letters = len(_LETTER.findall(joined))
    cyrillic = len(_CYRILLIC.findall(joined))
    if cyrillic >= MIN_CYRILLIC and cyrillic * 2 >= letters:
        return "ru"
    if letters >= MIN_LETTERS and len(_LATIN.findall(joined)) * 2 > letters:
        return "ru" if russian_reading(text) else "en"
    return None


def reply_language(text: str, fallback: str | None) -> str:
    """The language to answer `text` in: its own, else `fallback` (a profile's language or a locale), else "en"."""
    found = detect_language(text)
    if found:
        return found
    return (fallback or "en").split("-")[0].split("_")[0].lower() or "en"
