"""Dates of birth (DATE_OF_BIRTH): a date written near a word that says it is a birth date.

Other dates (delivery, invoice, end of support) stay visible. Formats: 03/22/1979, 22.08.1983, 1990-05-03,
14-06-1989, 14 July 1986, Jan 30, 1975, 17th of August 1969, 12 марта 1985; cues: born, DOB, date of birth,
birthday, d.o.b., родился/родилась, дата рождения, д.р., г.р. (before the date or right after it).
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

_MONTHS_EN = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_MONTHS_RU = r"(?:января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря)"
_YEAR = r"(?:19|20)\d{2}"
_DATE = re.compile(
    rf"(?<![\d.])(?:\d{{1,2}}[./\-]\d{{1,2}}[./\-](?:{_YEAR}|\d{{2}})"
    rf"|{_YEAR}[./\-]\d{{1,2}}[./\-]\d{{1,2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTHS_EN},?\s+{_YEAR}"
    rf"|{_MONTHS_EN}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR}"
    rf"|\d{{1,2}}\s+{_MONTHS_RU}\s+{_YEAR})(?![\d.]\d)",
    re.IGNORECASE,
)
_CUE_BEFORE = re.compile(
    r"(?:\bborn\b|\bdob\b|\bd\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthday|\bbday\b|\bb-day\b"
    r"|родил(?:ся|ась|ись)|рожд(?:ения|ение|енный|ённый|ённая|енная)|\bд\.\s?р\.?|день\s+рождения|\bдр\b)",
    re.IGNORECASE,
)
_CUE_AFTER = re.compile(r"\A\s*(?:г\.?\s?р\.?|года\s+рождения|г\.\s*рождения|\(dob\)|\(д\.р\.\))", re.IGNORECASE)
_CUE_AFTER_ANY = re.compile(r"г\.?\s?р|года\s+рождения|\(dob\)|\(д\.р\.\)", re.IGNORECASE)
CUE_WINDOW = 40  # characters before the date in which a cue counts


class DateOfBirthRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["DATE_OF_BIRTH"], supported_language=supported_language,
                         name=f"DateOfBirth_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "DATE_OF_BIRTH" not in entities or not (_CUE_BEFORE.search(text) or _CUE_AFTER_ANY.search(text)):
            return []  # no birth word anywhere: no date here is a date of birth
        out = []
        for m in _DATE.finditer(text):
            before = text[max(0, m.start() - CUE_WINDOW):m.start()]
            cue = _CUE_BEFORE.search(before)
            # The cue must belong to this date: no other date between them.
            if cue and _DATE.search(before[cue.end():]):
                cue = None
            if cue or _CUE_AFTER.match(text[m.end():]):
                out.append(RecognizerResult("DATE_OF_BIRTH", m.start(), m.end(), 0.8, recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
        return out
