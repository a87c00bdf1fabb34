"""Phone numbers: shapes per country (FormattedPhoneRecognizer) and libphonenumber's matcher around long digit runs
(MinDigitsPhoneRecognizer); a number named as something else (an order, an account) is no phone."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from core.pii.gating import PreChecked, digits_at_least
from core.pii.numbers_ru import digits_of

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
    return bool(_CARD_SHAPE.fullmatch(run.group())) and _luhn(digits_of(run.group()))

