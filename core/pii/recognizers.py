"""The recognizers Deskmate registers for every configured language.

Presidio's generic pattern recognizers (email, phone, card, IBAN, IP) plus our own: phone shapes per
country (phones.py), cards (cards.py), Russian identity numbers (numbers_ru.py: passport, INN, SNILS) with
checksums, and the recognizers of secrets.py (keys, tokens), addresses.py (street addresses) and dates.py
(dates of birth).
Everything here is offline: the email recognizer's domain check uses a bundled suffix-list snapshot.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer, IbanRecognizer, IpRecognizer
from tldextract import TLDExtract

from core.pii.addresses import StreetAddressRecognizer
from core.pii.cards import CardRecognizer
from core.pii.dates import DateOfBirthRecognizer
from core.pii.dates_chat import ChatDateOfBirthRecognizer
from core.pii.gating import PreChecked, contains
from core.pii.iban import ChatIbanRecognizer
from core.pii.numbers_ru import RuInnRecognizer, RuPassportRecognizer, RuSnilsRecognizer
from core.pii.phones import FormattedPhoneRecognizer, MinDigitsPhoneRecognizer
from core.pii.secrets import (
    ApiKeyRecognizer,
    HeaderSecretRecognizer,
    HighEntropyRecognizer,
    SecretParameterRecognizer,
    UrlCredentialsRecognizer,
)

# No suffix-list URL and no disk cache: tldextract uses the snapshot shipped in its wheel and never
# opens a socket (the library default downloads the public suffix list on first use).
_OFFLINE_TLD = TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)



class OfflineEmailRecognizer(PreChecked, EmailRecognizer):
    """Presidio's email recognizer with the domain check done against the bundled suffix list."""

    needs = staticmethod(contains("@"))

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""

_VERSION_BEFORE = re.compile(r"(?<![\w.])(?:version|ver\.?|v\.?|firmware|build|release|bios|build no\.?|версия|версии|"
                             r"прошивка|прошивки|сборка)\s*[:=]?\s*\Z", re.IGNORECASE)
# A dotted number is a version or a clause number, not an address, when one of these words comes shortly before
# it with no network word in between ("after update 4.12.0.3", "release notes mention 7.1.3.1", «п. 3.2.1.4
# договора», «после обновления 2.4.1.0»), or when it goes on as a version does (`1.2.3.4.5`, `5.0.1.2-rc1`,
# `2.1.0.4 beta`).
_NOT_IP_CUE = re.compile(
    r"(?<![\w.])(?:versions?|ver\.?|v\.?|firmware|builds?|releases?|bios|updates?|updated|upgraded?|downgraded?|"
    r"drivers?|patch(?:ed|es)?|hotfix|rollout|changelog|installer|packages?|plugins?|sdk|"
    r"section|sect\.|§|clause|paragraph|para\.|chapter|item|article|art\.|steps?|"
    r"верси\w*|прошивк\w*|сборк\w*|обновлени\w*|обновил\w*|драйвер\w*|патч\w*|релиз\w*|апдейт\w*|"
    r"пункт\w*|п\.|раздел\w*|глав\w*|стать\w*|параграф\w*)(?![\w])", re.IGNORECASE)
_NETWORK_WORD = re.compile(r"\b(?:ip|ips|ipv[46]|server|host|hostname|address|addr|dns|gateway|router|subnet|ping|"
                           r"vpn|proxy|firewall|whitelist|allowlist|block(?:ed)?|ban(?:ned)?|connect\w*|reach\w*|ssh|rdp|"
                           r"port|ping\w*|traceroute|login|logged)\b|сервер\w*|адрес\w*|шлюз\w*|подсет\w*|хост\w*|айпи|"
                           r"прокси|подключ\w*|доступ\w*", re.IGNORECASE)
_VERSION_AFTER = re.compile(r"\A(?:\.\d|-(?:rc|beta|alpha|dev|pre|b\d|r\d)|\s+(?:beta|alpha|rc\d*|preview)\b)",
                            re.IGNORECASE)
VERSION_WINDOW = 40
_PRIVATE_IP = re.compile(r"(?:10|127)\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|169\.254\."
                         r"|100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.")


def _version_not_ip(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - VERSION_WINDOW):start]
    if _VERSION_BEFORE.search(before[-24:]) or _VERSION_AFTER.match(text[end:]):
        return True
    # A word further back ("after the update my laptop can't see 192.168.0.10") counts only within three words,
    # and never for a private, loopback or link-local address: no version is numbered 192.168.x.x.
    cues = list(_NOT_IP_CUE.finditer(before))
    if not cues or _PRIVATE_IP.match(text, start):
        return False
    between = before[cues[-1].end():]
    return len(between.split()) <= 3 and not _NETWORK_WORD.search(between)


class VersionAwareIpRecognizer(PreChecked, IpRecognizer):
    """Presidio's IP recognizer, except version and clause numbers ("update 4.12.0.3", «п. 3.2.1.4»)."""

    # a dotted quad, or a colon between hex digits / `::` (IPv6)
    needs = staticmethod(contains(r"\d\.\d{1,3}\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]|::"))

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None,
                regex_flags: int | None = None) -> list:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if ":" in text[r.start:r.end] or not _version_not_ip(text, r.start, r.end)]


class GatedIbanRecognizer(PreChecked, IbanRecognizer):
    """Presidio's IBAN recognizer (mod 97), on text with a country code and check digits in it only."""

    needs = staticmethod(contains(r"[A-Z]{2}[0-9]{2}"))  # Presidio's pattern is case-sensitive, no space here


def pattern_recognizers(language: str, phone_regions: tuple[str, ...]) -> list[EntityRecognizer]:
    """Every pattern recognizer, registered for `language` (they are language-neutral regexes)."""
    return [
        OfflineEmailRecognizer(supported_language=language),
        FormattedPhoneRecognizer(language),
        MinDigitsPhoneRecognizer(supported_language=language, supported_regions=phone_regions,
                        context=["phone", "number", "telephone", "cell", "mobile", "call", "телефон", "номер", "тел"]),
        CardRecognizer(language),
        GatedIbanRecognizer(supported_language=language),
        ChatIbanRecognizer(language),
        VersionAwareIpRecognizer(supported_language=language),
        UrlCredentialsRecognizer(language),
        ApiKeyRecognizer(language),
        SecretParameterRecognizer(language),
        HeaderSecretRecognizer(language),
        HighEntropyRecognizer(language),
        StreetAddressRecognizer(language),
        DateOfBirthRecognizer(language),
        ChatDateOfBirthRecognizer(language),
        RuPassportRecognizer(language),
        RuInnRecognizer(language),
        RuSnilsRecognizer(language),
    ]

