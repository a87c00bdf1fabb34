"""Payment cards: Presidio's Luhn-checked recognizer plus the 2xxx range and 17-19 digit cards."""

from __future__ import annotations

from typing import ClassVar

from presidio_analyzer import Pattern
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from core.pii.gating import PreChecked, digits_at_least


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

