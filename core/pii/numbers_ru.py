"""Russian identity numbers: passport (series + number), INN (taxpayer, 10/12 digits) and SNILS (insurance, 11 digits),
the last two checksum-validated."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

from core.pii.checksums import digits_of
from core.pii.gating import PreChecked, all_of, contains, digits_at_least
from core.pii.phones import named_as_other_number


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


# Not inside a longer number, a date or a code; right after a letter a dash, dot or `#` is the label's
# («инн-7707083893», "INN No.7707083893", "inn#2410261899").
_INN_START = r"(?:(?<![\d\-/#.])|(?<=[^\W\d_][\-#.]))"


class RuInnRecognizer(PreChecked, PatternRecognizer):
    """Russian taxpayer number (ИНН): 10 digits (companies) or 12 (people), checksum-validated."""

    needs = staticmethod(contains(r"\d{10}|\d{4}[\s\-]\d{3,4}[\s\-]\d{3,4}|\d{3}[\s\-]\d{3}[\s\-]\d{3}[\s\-]\d{3}"
                                  r"|\d\d\s\d\d\s\d\d\s\d\d\s\d\d"))
    PATTERNS: ClassVar[list[Pattern]] = [
        # also glued to its label: «ИНН7707083893»
        Pattern("inn 12", _INN_START + r"\d{12}\b", 0.5), Pattern("inn 10", _INN_START + r"\d{10}\b", 0.3),
        # the INN of an INN/KPP pair («7707083893/770701001») and one glued to the KPP label («…3893КПП7707…»)
        Pattern("inn 10 before kpp", _INN_START + r"\d{10}(?=\s?/\s?\d{9}(?!\d)|\s?(?:кпп|kpp))", 0.6),
        Pattern("inn 10 grouped", r"\b\d{4}[\s\-]\d{3}[\s\-]\d{3}\b", 0.3),  # «7707 083 893»
        Pattern("inn 12 grouped", r"\b\d{4}[\s\-]\d{4}[\s\-]\d{4}\b", 0.3),
        Pattern("inn 12 grouped 3", r"\b\d{3}[\s\-]\d{3}[\s\-]\d{3}[\s\-]\d{3}\b", 0.3),
        # «50 01 00 73 22 59», «77 07 08 38 93»: only after its label
        Pattern("inn 12 in pairs", r"(?<!\d\s)\b\d{2}(?:\s\d{2}){5}\b", 0.1),
        Pattern("inn 10 in pairs", r"(?<!\d\s)\b\d{2}(?:\s\d{2}){4}\b(?!\s\d)", 0.1),
    ]
    CONTEXT: ClassVar[list[str]] = ["инн", "inn", "налогоплательщика", "taxpayer", "tax"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entity="RU_INN", patterns=self.PATTERNS, context=self.CONTEXT,
                         supported_language=supported_language, name=f"RuInn_{supported_language}")

    def validate_result(self, pattern_text: str) -> bool | None:
        d = digits_of(pattern_text)

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

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None,
                regex_flags: int | None = None) -> list:
        """After its label («ИНН», «инн:», «ИНН/КПП», "INN", "tax ID", "TIN", «налоговый номер») or right before it
        ("7707083893 is our INN") a valid number is an INN whatever else is near; without one, a number named as an
        order or an account is none («инн не нужен, заказ 7712345671») and digits in pairs are none."""
        results = []
        for r in super().analyze(text, entities, nlp_artifacts, regex_flags):
            if labelled_inn(text, r.start) or _INN_LABEL_AFTER.match(text, r.end) or after_organisation(text, r.start):
                r.score = max(r.score, 0.8)
            elif _in_pairs(r) or named_as_other_number(text, r.start):
                continue
            results.append(r)
        return results


def _in_pairs(result: RecognizerResult) -> bool:
    explanation = result.analysis_explanation
    return explanation is not None and explanation.pattern_name.endswith("in pairs")


# The labels of an INN, Russian and English: «ИНН», «И.Н.Н.», «ИНН/КПП» (the INN comes first), «налоговый номер»,
# «номер налогоплательщика», "INN", "TIN", "tax ID", "tax identification number", "taxpayer number", "tax no.".
_INN_LABEL = re.compile(
    r"(?<![^\W\d_])(?:(?:инн|inn)(?:\s?(?:/|,|и|and|&)\s?(?:кпп|kpp))?|и\.\s?н\.\s?н\.?|tin|налогов\w*\s+номер\w*"
    r"|номер\w*\s+налогоплательщика|tax\s?payer\s+(?:id\w*|number|no\.?)"
    r"|tax\s+(?:id(?:entification)?|number|no\.?|reg\w*(?:\s+number)?))(?![^\W\d_])", re.IGNORECASE)
# Between the label and the number, words that name another number or say the INN is not given: «инн не нужен,
# заказ 7712345671», "INN later, order 7712345671". The papers an INN goes on (an invoice, a receipt, a contract,
# an account) do not: "INN for the account 7707083893", «ИНН указан в договоре: 5995217836».
_OTHER_NUMBER_BETWEEN = re.compile(
    r"\b(?:orders?|tracking|ticket|ref|kpp|ogrn|bik|passport|snils|phone|not\s+needed|no\s+need|later)\b|"
    r"(?<!\w)(?:заказ\w*|трек\w*|заявк\w*|обращени\w*|тикет\w*|кпп|огрн\w*|бик|не\s+нуж\w*|не\s+надо|"
    r"не\s+требу\w*|паспорт\w*|снилс|телефон\w*|[рлк]/с|лицев\w*|расч[её]тн\w*)", re.IGNORECASE)
INN_LABEL_BEFORE = 40
# The label right after the number: "7707083893 is our INN", «7707083893 — наш ИНН», «7707083893 (ИНН)».
_INN_LABEL_AFTER = re.compile(
    r"\s*[\-\u2014\u2013:(]?\s*(?:(?:is|это)\s+)?(?:(?:our|my|the|his|her|their|its|наш|мой|моя|его|её|ее)\s+)?"
    r"(?:инн|inn|tin|tax\s+id)(?![^\W\d_])(?!\s*(?:not\b|isn|is\s+not|не\s|нет\b))", re.IGNORECASE)


# A company or sole trader named just before the number: a requisites line («ООО «Ромашка», 7707083893», «ИП Сидоров
# А.В. 500100732259»), where a valid number is its INN.
_ORGANISATION_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:ооо|оао|зао|пао|ао|ип|нко|llc|ltd)(?![^\W\d_])[^\d\n]{0,36}\Z", re.IGNORECASE)


def after_organisation(text: str, start: int) -> bool:
    before = text[max(0, start - 40):start]
    return _ORGANISATION_BEFORE.search(before) is not None and not _OTHER_NUMBER_BETWEEN.search(before)


def labelled_inn(text: str, start: int) -> bool:
    """The last INN label in the 40 characters before the number, with no digit and no other number's name between
    («ИНН 7707083893», "INN number 7707083893", «инн у нас такой — 7707083893»)."""
    before = text[max(0, start - INN_LABEL_BEFORE):start]
    label = next(reversed(list(_INN_LABEL.finditer(before))), None)
    if label is None:
        return False
    between = before[label.end():]
    return not any(c.isdigit() for c in between) and not _OTHER_NUMBER_BETWEEN.search(between)


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
        d = digits_of(pattern_text)
        if len(d) != 11:
            return False
        total = sum(x * (9 - i) for i, x in enumerate(d[:9]))
        control = total if total < 100 else (0 if total in (100, 101) else total % 101 % 100)
        return None if control == d[9] * 10 + d[10] else False

