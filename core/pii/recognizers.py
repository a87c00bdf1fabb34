"""The recognizers Deskmate registers for every configured language.

Presidio's generic pattern recognizers (email, phone, card, IBAN, IP) plus our own: phone shapes per
country, Russian identity numbers (passport, INN, SNILS) with checksums, and the recognizers of
secrets.py (keys, tokens), addresses.py (street addresses) and dates.py (dates of birth).
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

from core.pii.addresses import StreetAddressRecognizer
from core.pii.dates import DateOfBirthRecognizer
from core.pii.gating import PreChecked, all_of, contains, digits_at_least
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


def _digits(text: str) -> list[int]:
    return [int(c) for c in text if c.isdigit()]


class RuPassportRecognizer(PreChecked, PatternRecognizer):
    """Russian internal passport: series (4 digits, often split 2+2) and number (6 digits).

    Ten digits in a row are as often an order or PO number: that form needs a passport word nearby
    (its base score is under the threshold; Presidio's context enhancer adds 0.35).
    """

    needs = staticmethod(all_of(digits_at_least(10), contains(r"\d{6}")))  # every form has a 6-digit number
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ru passport (spaced)", r"\b\d{2}\s\d{2}\s(?:№\s?)?\d{6}\b", 0.5),
        Pattern("ru passport (series, number)", r"\b\d{2}\s?\d{2},?\s(?:№|номер|номер:|n|no\.?)\s?\d{6}\b", 0.6),
        Pattern("ru passport (compact)", r"\b\d{4}\s(?:№\s?)?\d{6}\b", 0.35),
        Pattern("ru passport (digits)", r"(?<![\d\-/#.])\d{10}(?![\d\-/])", 0.1),
    ]
    CONTEXT: ClassVar[list[str]] = ["паспорт", "паспорта", "паспортом", "паспортные", "паспортных", "серия",
                                    "passport"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="RU_PASSPORT", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"RuPassport_{supported_language}")


class RuInnRecognizer(PreChecked, PatternRecognizer):
    """Russian taxpayer number (ИНН): 10 digits (companies) or 12 (people), checksum-validated."""

    needs = staticmethod(contains(r"\d{10}|\d{4}[\s\-]\d{3,4}[\s\-]\d{3,4}|\d{3}[\s\-]\d{3}[\s\-]\d{3}[\s\-]\d{3}"))
    PATTERNS: ClassVar[list[Pattern]] = [
        # also glued to its label: «ИНН7707083893»
        Pattern("inn 12", r"(?<![\d\-/#.])\d{12}\b", 0.5), Pattern("inn 10", r"(?<![\d\-/#.])\d{10}\b", 0.3),
        Pattern("inn 10 grouped", r"\b\d{4}[\s\-]\d{3}[\s\-]\d{3}\b", 0.3),  # «7707 083 893»
        Pattern("inn 12 grouped", r"\b\d{4}[\s\-]\d{4}[\s\-]\d{4}\b", 0.3),
        Pattern("inn 12 grouped 3", r"\b\d{3}[\s\-]\d{3}[\s\-]\d{3}[\s\-]\d{3}\b", 0.3),
    ]
    CONTEXT: ClassVar[list[str]] = ["инн", "inn", "налогоплательщика", "taxpayer", "tax"]

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


class RuSnilsRecognizer(PreChecked, PatternRecognizer):
    """Russian insurance number (СНИЛС): 11 digits, `123-456-789 01` when formatted, checksum-validated."""

    needs = staticmethod(contains(r"\d{11}|\d{3}[\s\-]\d{3}[\s\-]\d{3}[\s\-]\d{2}"))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("snils formatted", r"\b\d{3}-\d{3}-\d{3}[\s\-]\d{2}\b", 0.6),
        Pattern("snils spaced", r"\b\d{3}\s\d{3}\s\d{3}\s\d{2}\b", 0.5),
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


class CardRecognizer(PreChecked, CreditCardRecognizer):
    """Presidio's card recognizer (Luhn-checked) plus the 2xxx range: Mir (2200-2204) and newer Mastercard."""

    needs = staticmethod(digits_at_least(12))
    PATTERNS: ClassVar[list[Pattern]] = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("mir / mastercard 2-series", r"\b2[2-7]\d{2}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3),
        # 17-19 digits (Maestro, Mir, UnionPay, JCB, Visa): four groups of four and a tail, spaced or not
        Pattern("card 17-19 digits", r"\b(?:220[0-4]|35\d\d|4\d{3}|5[06-9]\d\d|6\d{3})"
                r"(?:[- ]?\d{4}){3}[- ]?\d{1,3}\b", 0.3),
    ]
    CONTEXT: ClassVar[list[str]] = [*CreditCardRecognizer.CONTEXT, "карта", "карты", "картой", "карту", "мир"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(patterns=self.PATTERNS, context=self.CONTEXT, supported_language=supported_language)


# A number right after a word that names it as something else (an order, an account, a tracking or bank number)
# is not a phone, unless a phone word comes after that word: «номер заказа 81234567890», «лицевой счёт
# 89012345678», "order #89161234567", «БИК 044525225».
_NOT_PHONE_BEFORE = re.compile(
    r"(?:\b(?:orders?|invoices?|account|acct|tracking|track|parcel|shipment|ticket|case|contract|sku|article|"
    r"item|ref(?:erence)?|po|receipt|inn|ogrn)|(?<!\w)(?:заказ\w*|счёт\w*|счет\w*|договор\w*|накладн\w*|трек\w*|"
    r"отправлени\w*|артикул\w*|инн|огрн\w*|огрнип|бик|кпп|окпо|р/с|к/с|л/с|квитанци\w*|чек\w*|посылк\w*|"
    r"штрих-?код\w*|обращени\w*|заявк\w*))"
    r"\s*(?:no\.?|n°|№|#|номер|number|id)?\s*[:\-]?\s*\Z", re.IGNORECASE)


def named_as_other_number(text: str, start: int) -> bool:
    if text.startswith("+", start):
        return False  # "+7 ..." / "+44 ..." is written as a phone
    return _NOT_PHONE_BEFORE.search(text[max(0, start - 32):start]) is not None


class FormattedPhoneRecognizer(PreChecked, PatternRecognizer):
    """Phones by their shape, per country: libphonenumber rejects unassigned and reserved ranges (the UK's
    07700 900xxx, US 555-01xx), but a number-shaped value in a support message is still masked.

    International: `+` and 8-15 digits in groups (E.164 included). National: Russia (8/+7), North America,
    the UK (0 + 9-10 digits), Germany (0 + area code + subscriber), France (0 + 9 digits in pairs).
    """

    needs = staticmethod(digits_at_least(8))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ru phone", r"(?<![\d+])(?:\+7|8)[\s\-]?\(?\d{3}\)?[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)", 0.5),
        Pattern(
            "nanp phone",
            r"(?<![\w+])(?:(?:\+1|001)[\s.\-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\s.\-])\d{3}[\s.\-]\d{4}(?!\d)",
            0.45,
        ),
        Pattern("international", r"(?<![\w+])\+[1-9]\d{0,2}(?:[\s.\-]?\(?\d{1,5}\)?){2,6}(?![\d\-])", 0.5),
        Pattern("uk national", r"(?<![\w+])0(?:7\d{3}\s?\d{6}|[12]\d{1,3}\s?\d{3,4}\s?\d{3,4})(?![\d\-])", 0.45),
        Pattern("de national", r"(?<![\w+])0[1-9]\d{1,4}[\s/\-]\d{5,8}(?![\d\-])", 0.45),
        Pattern("fr national", r"(?<![\w+])0[1-9](?:[\s.]\d{2}){4}(?![\d\-])", 0.5),
    ]
    CONTEXT: ClassVar[list[str]] = ["телефон", "тел", "номер", "звоните", "phone", "call", "cell", "mobile",
                                    "tel", "whatsapp", "мобильный", "позвоните"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="PHONE_NUMBER", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"FormattedPhone_{supported_language}")

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if self.valid_shape(pattern_text) else False

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None,
                regex_flags: int | None = None) -> list:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [r for r in results if not named_as_other_number(text, r.start)]

    @staticmethod
    def valid_shape(pattern_text: str) -> bool:
        digits = sum(c.isdigit() for c in pattern_text)
        if pattern_text.startswith("+"):
            # 8-15 digits (E.164); a `+` number is a phone: full score.
            return 8 <= digits <= 15
        return 9 <= digits <= (13 if pattern_text.startswith("00") else 12)


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
                value = text[result.start:result.end]
                if (sum(c.isdigit() for c in value) >= self.MIN_DIGITS and not _DATE_SHAPE.fullmatch(value)
                        and not named_as_other_number(text, result.start)):
                    results.append(result)
        return EntityRecognizer.remove_duplicates(results)

    def _windows(self, text: str) -> list[tuple[int, int]]:
        windows: list[tuple[int, int]] = []
        for run in self._RUN.finditer(text):
            if sum(c.isdigit() for c in run.group()) < self.MIN_DIGITS or _settled(text, run):
                continue
            start, end = max(0, run.start() - self.MARGIN), min(len(text), run.end() + self.MARGIN)
            if windows and start <= windows[-1][1]:
                windows[-1] = (windows[-1][0], end)
            else:
                windows.append((start, end))
        return windows


_SHAPES = [re.compile(p.regex) for p in FormattedPhoneRecognizer.PATTERNS]
# A date written with dots or slashes (05.03.2024, 12/04/1990) is no phone number, though libphonenumber parses
# some as German or British numbers.
_DATE_SHAPE = re.compile(r"\d{1,2}([./])\d{1,2}\1(?:19|20)\d{2}|(?:19|20)\d{2}([./\-])\d{1,2}\2\d{1,2}")
_CARD_SHAPE = re.compile(r"\d{4}(?:[ \-]?\d{4}){3}(?:\d{1,3})?|\d{4}[ \-]?\d{6}[ \-]?\d{5}")


def _luhn(digits: list[int]) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def _settled(text: str, run: re.Match[str]) -> bool:
    """A digit run another recognizer masks whole anyway: libphonenumber need not parse it (~1 ms a run).

    That is a run one phone shape of FormattedPhoneRecognizer matches from its first to its last character
    (the shape recognizer masks it as a phone), or a card number's shape with a valid Luhn digit (the card
    recognizer masks it; 16+ digits are no phone number).
    """
    for rx in _SHAPES:
        m = rx.match(text, run.start())
        if m and m.end() >= run.end() and FormattedPhoneRecognizer.valid_shape(m.group()):
            return True
    return bool(_CARD_SHAPE.fullmatch(run.group())) and _luhn(_digits(run.group()))


def pattern_recognizers(language: str, phone_regions: tuple[str, ...]) -> list[EntityRecognizer]:
    """Every pattern recognizer, registered for `language` (they are language-neutral regexes)."""
    return [
        OfflineEmailRecognizer(supported_language=language),
        FormattedPhoneRecognizer(language),
        MinDigitsPhoneRecognizer(supported_language=language, supported_regions=phone_regions,
                        context=["phone", "number", "telephone", "cell", "mobile", "call", "телефон", "номер", "тел"]),
        CardRecognizer(language),
        GatedIbanRecognizer(supported_language=language),
        VersionAwareIpRecognizer(supported_language=language),
        UrlCredentialsRecognizer(language),
        ApiKeyRecognizer(language),
        SecretParameterRecognizer(language),
        HeaderSecretRecognizer(language),
        HighEntropyRecognizer(language),
        StreetAddressRecognizer(language),
        DateOfBirthRecognizer(language),
        RuPassportRecognizer(language),
        RuInnRecognizer(language),
        RuSnilsRecognizer(language),
    ]
