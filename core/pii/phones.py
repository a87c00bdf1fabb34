"""Phone numbers: shapes per country (FormattedPhoneRecognizer) and libphonenumber's matcher around long digit runs
(MinDigitsPhoneRecognizer); a number named as something else (an order, an account) is no phone."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

from core.pii.checksums import digits_of, luhn
from core.pii.gating import PreChecked, digits_at_least

# A number right after a word that names it as something else (an order, an account, a tracking or bank number)
# is not a phone, unless a phone word comes after that word: «номер заказа 81234567890», «лицевой счёт
# 89012345678», "order #89161234567", «БИК 044525225».
_NOT_PHONE_BEFORE = re.compile(
    r"(?:\b(?:orders?|invoices?|account|acct|tracking|track|parcel|shipment|ticket|case|contract|sku|article|"
    r"item|ref(?:erence)?|po|receipt|inn|ogrn)|(?<!\w)(?:заказ\w*|счёт\w*|счет\w*|договор\w*|накладн\w*|трек\w*|"
    r"отправлени\w*|артикул\w*|инн|огрн\w*|огрнип|бик|кпп|окпо|р/с|к/с|л/с|квитанци\w*|чек\w*|посылк\w*|"
    r"штрих-?код\w*|обращени\w*|заявк\w*|тикет\w*))"
    r"\s*(?:no\.?|n°|№|#|номер|number|id)?\s*[:\-]?\s*\Z", re.IGNORECASE)


def named_as_other_number(text: str, start: int) -> bool:
    if text.startswith("+", start):
        return False  # "+7 ..." / "+44 ..." is written as a phone
    return _NOT_PHONE_BEFORE.search(text[max(0, start - 32):start]) is not None


# A phone's extension is part of its span: "555-123-4567x890" (Faker's en_US form), "ext. 204", «доб. 123».
_EXTENSION = re.compile(r"\s?(?:x|ext\.?|extension|доб\.?)\s?\d{1,5}(?!\d)", re.IGNORECASE)
# Words that say a number is a phone, for the shapes that are as often something else (ten digits in a row, a
# Russian mobile without its 8 or +7): before the number ("call 6175550123", «мой телефон 9161234567») or right
# after it ("5551234567 is my cell", «9161234567 — мой мобильный»).
_PHONE_WORD = re.compile(
    r"(?:\b(?:phone|call|calls|cell|cellphone|mobile|tel|text\s+me|whatsapp|viber|ring|my\s+number|contact\s+number)"
    r"|(?<!\w)(?:телефон\w*|тел|моб\w*|сотов\w*|звон\w*|позвон\w*|перезвон\w*|вотсап|ватсап|телеграм\w*|смс|"
    r"мой\s+номер|номер\s+(?:мобильного|сотового|для\s+связи)|контактн\w+\s+номер))(?!\w)",
    re.IGNORECASE)
PHONE_WORD_BEFORE = 40
PHONE_WORD_AFTER = 24
_OTHER_NUMBER_WORD = re.compile(r"\b(?:orders?|invoices?|tracking|ticket|sku|ref|serial|asset|id)\b|(?<!\w)(?:заказ\w*|"
                                r"счёт\w*|счет\w*|трек\w*|артикул\w*|заявк\w*|тикет\w*|инн|снилс|паспорт\w*|серийн\w*)",
                                re.IGNORECASE)


def named_as_phone(text: str, start: int, end: int) -> bool:
    """A phone word shortly before the number with no other number's name in between, or one right after it."""
    before = text[max(0, start - PHONE_WORD_BEFORE):start]
    cue = next(reversed(list(_PHONE_WORD.finditer(before))), None)
    if cue and not _OTHER_NUMBER_WORD.search(before[cue.end():]):
        return True
    return _PHONE_WORD.search(text[end:end + PHONE_WORD_AFTER]) is not None


class FormattedPhoneRecognizer(PreChecked, PatternRecognizer):
    """Phones by their shape, per country: libphonenumber rejects unassigned and reserved ranges (the UK's
    07700 900xxx, US 555-01xx), but a number-shaped value in a support message is still masked.

    International: `+` and 8-15 digits in groups (E.164 included). National: Russia (8/+7/7, city codes of 3-5
    digits), North America (also `1-800-…`), the UK (0 + 9-10 digits, `(0113) 496 0123`), Germany (0 + area
    code + subscriber), France (0 + 9 digits in pairs). Only near a phone word (`WORD_GATED`): ten or eleven digits
    in a row and a Russian mobile without its prefix (`912-345-67-89`), scored under the others (a shape that
    also matches keeps its result). An extension joins the span.
    """

    needs = staticmethod(digits_at_least(7))
    PATTERNS: ClassVar[list[Pattern]] = [
        Pattern("ru phone", r"(?<![\d+])(?:\+7|8)[\s\-]?\(?\d{3}\)?[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)", 0.5),
        # a mobile after a bare 7 («7 912 345 67 89», 79123456789) and city codes of 4-5 digits («8 (3412) 12-34-56»)
        Pattern("ru phone 7", r"(?<![\w+])7[\s\-]?\(?9\d{2}\)?[\s\-]?\d{3}[\s\-]?\d{2}[\s\-]?\d{2}(?!\d)", 0.45),
        Pattern("ru city code", r"(?<![\d+])(?:\+7|8)[\s\-]?\(\d{4,5}\)[\s\-]?\d{1,3}(?:[\s\-]?\d{2}){2}(?!\d)", 0.5),
        # a city code in brackets without the 8 («(495) 123-45-67», «(3412)12-34-56»): written as a phone only
        Pattern("ru city code in brackets", r"(?<![\w+)])\(\d{3,5}\)\s?\d{1,3}(?:[\s\-]\d{2}){2}(?![\d\-])", 0.45),
        # dots between every group, one separator throughout: «8.912.345.67.89», «+7.912.345.67.89»
        Pattern("ru phone dots", r"(?<![\d+.])(?:\+7|8)\.\d{3}\.\d{3}\.\d{2}\.\d{2}(?![\d.])", 0.45),
        Pattern(
            "nanp phone",
            r"(?<![\w+])(?:(?:\+1|001|1)[\s.\-]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\s.\-])\d{3}[\s.\-]\d{4}(?!\d)",
            0.45,
        ),
        Pattern("international", r"(?<![\w+])\+[1-9]\d{0,2}(?:[\s.\-]?\(?\d{1,5}\)?){2,6}(?![\d\-])", 0.5),
        Pattern("uk national", r"(?<![\w+])0(?:7\d{3}\s?\d{6}|[12]\d{1,3}\s?\d{3,4}\s?\d{3,4})(?![\d\-])", 0.45),
        # an area code in brackets: "(0113) 496 0123", "(028)9018823", "(09798) 617845"
        Pattern("area code in brackets", r"(?<![\w+])\(0\d{2,4}\)\s?\d{3,4}\s?\d{3,4}(?![\d\-])", 0.45),
        Pattern("de national", r"(?<![\w+])0[1-9]\d{1,4}[\s/\-]\d{5,8}(?![\d\-])", 0.45),
        Pattern("fr national", r"(?<![\w+])0[1-9](?:[\s.]\d{2}){4}(?![\d\-])", 0.5),
        Pattern("digits (phone word)", r"(?<![\w+.\-/#])(?:[2-9]\d{9}|0\d{9,10})(?![\w\-/])", 0.42),
        # a seven-digit local number in the Russian grouping, after a phone word only: «тел. 123-45-67»
        Pattern("ru local (phone word)", r"(?<![\w+\-.])\d{3}-\d{2}-\d{2}(?![\w\-.])", 0.42),
        Pattern("ru mobile without prefix (phone word)",
                r"(?<![\w+\-])(?:\(9\d{2}\)\s?|9\d{2}[\s\-])\d{3}[\s\-]\d{2}[\s\-]\d{2}(?![\d\-])", 0.42),
    ]
    WORD_GATED: ClassVar[frozenset[str]] = frozenset(p.name for p in PATTERNS if p.name.endswith("(phone word)"))
    CONTEXT: ClassVar[list[str]] = ["телефон", "тел", "номер", "звоните", "phone", "call", "cell", "mobile",
                                    "tel", "whatsapp", "мобильный", "позвоните"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="PHONE_NUMBER", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"FormattedPhone_{supported_language}")

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if self.valid_shape(pattern_text) else False

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None,
                regex_flags: int | None = None) -> list:
        results = []
        for r in super().analyze(text, entities, nlp_artifacts, regex_flags):
            if named_as_other_number(text, r.start):
                continue
            explanation = r.analysis_explanation
            if (explanation is not None and explanation.pattern_name in self.WORD_GATED
                    and not named_as_phone(text, r.start, r.end)):
                continue
            results.append(with_extension(text, r))
        return results

    @staticmethod
    def valid_shape(pattern_text: str) -> bool:
        digits = sum(c.isdigit() for c in pattern_text)
        if pattern_text.startswith("+"):
            # 8-15 digits (E.164); a `+` number is a phone: full score.
            return 8 <= digits <= 15
        if digits == 7:
            return _LOCAL_SHAPE.fullmatch(pattern_text) is not None  # only ever after a phone word (WORD_GATED)
        return 9 <= digits <= (13 if pattern_text.startswith("00") else 12)


_LOCAL_SHAPE = re.compile(r"\d{3}-\d{2}-\d{2}")


def with_extension(text: str, result: RecognizerResult) -> RecognizerResult:
    m = _EXTENSION.match(text, result.end)
    if m:
        result.end = m.end()
    return result


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
                    results.append(with_extension(text, result))
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


_SHAPES = [re.compile(p.regex) for p in FormattedPhoneRecognizer.PATTERNS
           if p.name not in FormattedPhoneRecognizer.WORD_GATED]
# A date written with dots or slashes (05.03.2024, 12/04/1990) is no phone number, though libphonenumber parses
# some as German or British numbers.
_DATE_SHAPE = re.compile(r"\d{1,2}([./])\d{1,2}\1(?:19|20)\d{2}|(?:19|20)\d{2}([./\-])\d{1,2}\2\d{1,2}")
_CARD_SHAPE = re.compile(r"\d{4}(?:[ \-]?\d{4}){3}(?:\d{1,3})?|\d{4}[ \-]?\d{6}[ \-]?\d{5}")


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
    return bool(_CARD_SHAPE.fullmatch(run.group())) and luhn(digits_of(run.group()))

