"""The text the analyzer sees: invisible characters out, numbers rejoined, look-alike letters in numbers read as digits.

A value split by a zero-width space (`anna.k\\u200b@example.com`, `+44 7700 900\\u200b123`) or a soft hyphen
reads the same to a person and to the model, but no pattern matches it. A card or phone number broken over two
lines (`4111 1111\\n1111 1111`, `4111-1111-\\n1111-1111`) is one value too, and so is a phone number typed with
a letter for a digit (`+7 9I2 345-67-89`, Cyrillic `З` for 3). The analyzer runs on the cleaned text; its spans
are mapped back onto the original, so the invisible characters are masked with the value they sit in.
"""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult

_INVISIBLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
_EDIT = re.compile(
    rf"(?P<space>(?<=[^\W\d_])\u200b(?=[A-ZÀ-ÞА-ЯЁ]))"  # "Rahel\u200bTesfaye": a zero-width word break
    rf"|(?P<drop>[{_INVISIBLE}]+)"
    r"|(?P<join>(?<=\d-)[ \t]*\r?\n[ \t>]*(?=\d))"  # "4111-1111-\n1111": the dash stays, the line break goes
    r"|(?P<break>(?<=\d)[ \t]*\r?\n[ \t>]*(?=\d))"  # "4111 1111\n1111": one space
)
# Letters typed for digits inside a long digit run: O/О -> 0, I/l/|/І -> 1, З -> 3.
_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "О": "0", "о": "0", "I": "1", "l": "1", "|": "1", "І": "1",
                            "і": "1", "З": "3", "з": "3"})
_LOOKALIKES = frozenset("OoОоIlІі|Зз")
# A run of digits, look-alikes and separators that is a whole word: not part of a code with other letters
# ("GB34OMGO7415..." is an IBAN, its O stays an O).
_DIGITISH = re.compile(r"(?<![^\W_])[+(]?[\dOoОоIlІі|Зз](?:[\dOoОоIlІі|Зз]|[ \-.()](?=[\dOoОоIlІі|Зз(])){6,}"
                       r"(?![^\W\d_])")


def analysis_text(text: str) -> tuple[str, list[int] | None]:
    """(cleaned text, original index of each cleaned character; None when the length did not change)."""
    index: list[int] | None = None
    if re.search(rf"[{_INVISIBLE}]", text) or "\n" in text:
        parts: list[str] = []
        index = []
        pos = 0
        for m in _EDIT.finditer(text):
            parts.append(text[pos:m.start()])
            index.extend(range(pos, m.start()))
            if m.lastgroup in ("space", "break"):
                parts.append(" ")
                index.append(m.start())
            pos = m.end()
        parts.append(text[pos:])
        index.extend(range(pos, len(text)))
        cleaned = "".join(parts)
        if len(cleaned) == len(text) and cleaned == text:
            index = None
        text = cleaned
    if any(c in text for c in "OoОоIlІі|Зз"):
        text = _DIGITISH.sub(_digits_read, text)  # same length
    return text, index


def _digits_read(m: re.Match[str]) -> str:
    """A look-alike letter next to a digit, in a run of 6+ digits with at most two such letters, is a digit."""
    run = m.group()
    swap = [i for i, c in enumerate(run) if c in _LOOKALIKES and (
        (i > 0 and run[i - 1].isdigit()) or (i + 1 < len(run) and run[i + 1].isdigit()))]
    if sum(c.isdigit() for c in run) < 6 or not swap or len(swap) > 2:
        return run
    chars = list(run)
    for i in swap:
        chars[i] = chars[i].translate(_LOOKALIKE)
    return "".join(chars)


def map_back(results: list[RecognizerResult], index: list[int] | None) -> list[RecognizerResult]:
    """Spans on the cleaned text -> spans on the original (invisible characters inside a value included)."""
    if index is None:
        return results
    for r in results:
        r.start, r.end = index[r.start], index[r.end - 1] + 1
    return results
