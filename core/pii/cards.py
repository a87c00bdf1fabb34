"""Payment cards: Presidio's Luhn-checked recognizer plus the 2xxx range, 17-19 digit cards and the forms people type
in chat: other separators (`5123.4567.8901.2346`, `2200_7012_…`, em dashes, double spaces) and, after a card word,
irregular groups (`4276 3800 1234 56 79`, `5123 456789 012346`). A Luhn-valid number named as an order, an invoice
or a tracking number («номер заказа 4276 …», "order #4000…") or glued into a longer code (`112-4567890-1234567`) is
no card."""

from __future__ import annotations

import re
from typing import ClassVar

from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from core.pii.checksums import luhn
from core.pii.gating import PreChecked, digits_at_least
from core.pii.phones import named_as_other_number

_SEPARATORS = [("-", ""), (" ", ""), (".", ""), ("_", ""), ("\u2014", ""), ("\u2013", ""), ("\u00a0", "")]
# A word that names a card (typos included: «карат», «кары»), for the irregular groupings.
_CARD_WORD = re.compile(r"(?<!\w)(?:карт\w*|карат\w*|кар[аыуе]|карточк\w*|cards?|visa|mastercard|maestro|amex|"
                        r"debit|credit|cc|мир|виза|сбер\w*|тинькофф\w*|альфа\w*)(?!\w)", re.IGNORECASE)
CARD_WORD_BEFORE = 40


class CardRecognizer(PreChecked, CreditCardRecognizer):
    """Presidio's card recognizer (Luhn-checked) plus the 2xxx range: Mir (2200-2204) and newer Mastercard."""

    needs = staticmethod(digits_at_least(12))
    PATTERNS: ClassVar[list[Pattern]] = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("mir / mastercard 2-series", r"\b2[2-7]\d{2}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3),
        # 17-19 digits (Maestro, Mir, UnionPay, JCB, Visa): four groups of four and a tail, spaced or not
        Pattern("card 17-19 digits", r"\b(?:220[0-4]|35\d\d|4\d{3}|5[06-9]\d\d|6\d{3})"
                r"(?:[- ]?\d{4}){3}[- ]?\d{1,3}\b", 0.3),
        # four groups of four with a separator Presidio's pattern does not take
        Pattern("card chat separators", r"(?<![\w.\-])[2-6]\d{3}(?:(?:[._\u2014\u2013]| {2,3})\d{4}){3}"
                r"(?![\w\-\u2014\u2013]|[.,]\d)", 0.3),
        Pattern("card irregular groups (card word)",
                r"(?<![\w.\-])[2-6]\d{3}(?:(?:[ \-\u2014\u2013.]| {2})\d{2,6}){2,5}(?![\w\-\u2014\u2013]|[.,]\d)", 0.3),
    ]
    WORD_GATED: ClassVar[frozenset[str]] = frozenset(p.name for p in PATTERNS if p.name.endswith("(card word)"))
    CONTEXT: ClassVar[list[str]] = [*CreditCardRecognizer.CONTEXT, "карта", "карты", "картой", "карту", "мир"]

    def __init__(self, supported_language: str) -> None:
        super().__init__(patterns=self.PATTERNS, context=self.CONTEXT, supported_language=supported_language,
                         replacement_pairs=_SEPARATORS)

    def validate_result(self, pattern_text: str) -> bool:
        digits = [int(c) for c in pattern_text if c.isdigit()]
        return 13 <= len(digits) <= 19 and luhn(digits)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None,
                regex_flags: int | None = None) -> list:
        results = []
        for r in super().analyze(text, entities, nlp_artifacts, regex_flags):
            if named_as_other_number(text, r.start) or _inside_code(text, r.start, r.end):
                continue
            explanation = r.analysis_explanation
            if (explanation is not None and explanation.pattern_name in self.WORD_GATED
                    and not _CARD_WORD.search(text[max(0, r.start - CARD_WORD_BEFORE):r.start])):
                continue
            results.append(r)
        return results


def _inside_code(text: str, start: int, end: int) -> bool:
    """A number joined by a dash to more digits: one part of an order code such as `112-4567890-1234567`."""
    return (start >= 2 and text[start - 1] == "-" and text[start - 2].isdigit()) or (
        text[end:end + 1] == "-" and text[end + 1:end + 2].isdigit())
