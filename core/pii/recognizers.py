"""The recognizers Deskmate registers for every configured language.

Presidio's generic pattern recognizers (email, phone, card, IBAN, IP) plus our own: URLs carrying
credentials, API keys/tokens, and Russian identity numbers (passport, INN, SNILS) with checksums.
Everything here is offline: the email recognizer's domain check uses a bundled suffix-list snapshot.
"""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
)
from tldextract import TLDExtract

# No suffix-list URL and no disk cache: tldextract uses the snapshot shipped in its wheel and never
# opens a socket (the library default downloads the public suffix list on first use).
_OFFLINE_TLD = TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)



class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer with the domain check done against the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""


class UrlCredentialsRecognizer(PatternRecognizer):
    """A URL with `user:password@` in it (database DSNs, basic-auth links): the whole URL is secret."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern(
            "url with credentials",
            r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s:/@]+:[^\s/@]+@[^\s<>\"']*[^\s<>\"'.,;:!?)\]]",
            0.9,
        ),
    ]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="URL_CREDENTIALS", patterns=self.PATTERNS,
                         supported_language=supported_language, name=f"UrlCredentials_{supported_language}")


class ApiKeyRecognizer(PatternRecognizer):
    """Well-known token formats, and any value after `api_key=`, `token:`, `password:`, `пароль:`..."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("openai", r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}", 0.9),
        Pattern("github", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{22,})", 0.9),
        Pattern("slack", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", 0.9),
        Pattern("aws access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0.9),
        Pattern("google", r"\bAIza[0-9A-Za-z_\-]{35}", 0.9),
        Pattern("telegram bot token", r"\b\d{8,10}:[A-Za-z0-9_\-]{35}\b", 0.9),
        Pattern("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 0.9),
        Pattern("bearer", r"(?<=\bbearer\s+)[A-Za-z0-9._~+/\-]{16,}=*", 0.8),
        Pattern(
            "labelled secret",
            r"(?<=\b(?:api[_\- ]?key|access[_\- ]?key|secret|token|password|passwd|пароль|токен|ключ)\s*[:=]\s*)"
            r"[^\s\"',;]{6,}",
            0.8,
        ),
    ]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="API_KEY", patterns=self.PATTERNS,
                         supported_language=supported_language, name=f"ApiKey_{supported_language}")


def _digits(text: str) -> list[int]:
    return [int(c) for c in text if c.isdigit()]


class RuPassportRecognizer(PatternRecognizer):
    """Russian internal passport: series (4 digits, often split 2+2) and number (6 digits)."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ru passport (spaced)", r"\b\d{2}\s\d{2}\s(?:№\s?)?\d{6}\b", 0.5),
        Pattern("ru passport (compact)", r"\b\d{4}\s(?:№\s?)?\d{6}\b", 0.35),
    ]
    CONTEXT: ClassVar[list[str]] = ["паспорт", "паспорта", "паспортные", "серия", "passport"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="RU_PASSPORT", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"RuPassport_{supported_language}")


class RuInnRecognizer(PatternRecognizer):
    """Russian taxpayer number (ИНН): 10 digits (companies) or 12 (people), checksum-validated."""

    PATTERNS: ClassVar[list[Pattern]] = [Pattern("inn 12", r"\b\d{12}\b", 0.5), Pattern("inn 10", r"\b\d{10}\b", 0.3)]
    CONTEXT: ClassVar[list[str]] = ["инн", "inn", "налогоплательщика", "taxpayer"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="RU_INN", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"RuInn_{supported_language}")

    def validate_result(self, pattern_text: str) -> bool | None:
        d = _digits(pattern_text)

        def check(weights: tuple[int, ...]) -> int:
            return sum(w * x for w, x in zip(weights, d, strict=False)) % 11 % 10

        if len(d) == 10:
            ok = check((2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[9]
        elif len(d) == 12:
            ok = check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[10] and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[11]
        else:
            ok = False
        # A valid checksum keeps the pattern's score (1 in 10 random numbers passes); invalid drops it.
        return None if ok else False


class RuSnilsRecognizer(PatternRecognizer):
    """Russian insurance number (СНИЛС): 11 digits, `123-456-789 01` when formatted, checksum-validated."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("snils formatted", r"\b\d{3}-\d{3}-\d{3}[\s\-]\d{2}\b", 0.6),
        Pattern("snils digits", r"\b\d{11}\b", 0.3),
    ]
    CONTEXT: ClassVar[list[str]] = ["снилс", "snils", "страхового", "пенсионного"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="RU_SNILS", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"RuSnils_{supported_language}")

    def validate_result(self, pattern_text: str) -> bool | None:
        d = _digits(pattern_text)
        if len(d) != 11:
            return False
        total = sum(x * (9 - i) for i, x in enumerate(d[:9]))
        control = total if total < 100 else (0 if total in (100, 101) else total % 101 % 100)
        return None if control == d[9] * 10 + d[10] else False


class CardRecognizer(CreditCardRecognizer):
    """Presidio's card recognizer (Luhn-checked) plus the 2xxx range: Mir (2200-2204) and newer Mastercard."""

    PATTERNS: ClassVar[list[Pattern]] = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("mir / mastercard 2-series", r"\b2[2-7]\d{2}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3),
    ]
    CONTEXT: ClassVar[list[str]] = [*CreditCardRecognizer.CONTEXT, "карта", "карты", "картой", "карту", "мир"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(patterns=self.PATTERNS, context=self.CONTEXT, supported_language=supported_language)


class FormattedPhoneRecognizer(PatternRecognizer):
    """Russian (+7/8) and North American numbers by their shape: libphonenumber rejects unassigned
    ranges, but a number-shaped value in a support message is still masked (over-masking beats a leak)."""

    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ru phone", r"(?<![\d+])(?:\+7|8)[\s\-]?\(?\d{3}\)?[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)", 0.5),
        Pattern(
            "nanp phone",
            r"(?<![\w+])(?:(?:\+1|001)[\s.\-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\s.\-])\d{3}[\s.\-]\d{4}(?!\d)",
            0.45,
        ),
    ]
    CONTEXT: ClassVar[list[str]] = ["телефон", "тел", "номер", "звоните", "phone", "call", "cell", "mobile"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="PHONE_NUMBER", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"FormattedPhone_{supported_language}")


class MinDigitsPhoneRecognizer(PhoneRecognizer):
    """libphonenumber's matcher without the short local numbers it accepts (order ids like 343052).

    The matcher parses every digit group it finds once per region (prices, dates, order ids...): ~1 ms
    per 500-character message with two regions. It only runs around runs of phone characters holding at
    least MIN_DIGITS digits (a shorter number is dropped anyway), with MARGIN characters either side so
    that its own checks on the neighbouring characters and extensions ("x123", "ext. 4") still apply.
    """

    MIN_DIGITS = 8
    MARGIN = 12
    _RUN = re.compile(r"[+(]?\d[\d\s\-.()/\u00a0\u2010-\u2015]*\d")

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list:
        results = []
        for start, end in self._windows(text):
            for result in super().analyze(text[start:end], entities, nlp_artifacts):
                result.start += start
                result.end += start
                if sum(c.isdigit() for c in text[result.start:result.end]) >= self.MIN_DIGITS:
                    results.append(result)
        return EntityRecognizer.remove_duplicates(results)

    def _windows(self, text: str) -> list[tuple[int, int]]:
        windows: list[tuple[int, int]] = []
        for run in self._RUN.finditer(text):
            if sum(c.isdigit() for c in run.group()) < self.MIN_DIGITS:
                continue
            start, end = max(0, run.start() - self.MARGIN), min(len(text), run.end() + self.MARGIN)
            if windows and start <= windows[-1][1]:
                windows[-1] = (windows[-1][0], end)
            else:
                windows.append((start, end))
        return windows


def pattern_recognizers(language: str, phone_regions: tuple[str, ...]) -> list[EntityRecognizer]:
    """Every pattern recognizer, registered for `language` (they are language-neutral regexes)."""
    return [
        OfflineEmailRecognizer(supported_language=language),
        FormattedPhoneRecognizer(language),
        MinDigitsPhoneRecognizer(supported_language=language, supported_regions=phone_regions,
                        context=["phone", "number", "telephone", "cell", "mobile", "call", "телефон", "номер", "тел"]),
        CardRecognizer(language),
        IbanRecognizer(supported_language=language),
        IpRecognizer(supported_language=language),
        UrlCredentialsRecognizer(language),
        ApiKeyRecognizer(language),
        RuPassportRecognizer(language),
        RuInnRecognizer(language),
        RuSnilsRecognizer(language),
    ]
