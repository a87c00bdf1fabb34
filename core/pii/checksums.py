"""Check digits of the numbers we mask: Luhn (cards); the digits of a value written with separators."""

from __future__ import annotations


def luhn(digits: list[int]) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return total % 10 == 0


def digits_of(text: str) -> list[int]:
    return [int(c) for c in text if c.isdigit()]
