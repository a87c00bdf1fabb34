"""Dates of birth in the forms people type in chat, right after their cue (DATE_OF_BIRTH).

dates.py finds dates near a birth word; this adds the shapes and cues it does not take, only where the date comes
right after the cue (up to four separator characters): a cue glued to the date («др03.07.1985», «д.р.03.07.85»),
«рожд» without its dot, commas between the parts («03,07,1985»), a two-digit year after a month name («3 июля 85»,
«5 марта 90-го», "3rd of July '85", "July 3 '85"), "b. 1985-07-03". A date further from its cue is dates.py's.
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from core.pii.dates import with_suffix
from core.pii.results import found

_MONTH_EN = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
             r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_MONTH_RU = (r"(?:январ[яь]|феврал[яь]|марта?|апрел[яь]|ма[яй]|июн[яь]|июл[яь]|августа?|сентябр[яь]|октябр[яь]"
             r"|ноябр[яь]|декабр[яь]|(?:янв|фев|мар|апр|июн|июл|авг|сент?|окт|нояб?|дек)\.?)(?![а-яё])")
_YEAR = r"(?:(?:19|20)\d{2}|\d{2})"
_DATE = re.compile(
    rf"(?<!\d)(?:\d{{1,2}}([.,/\-])\d{{1,2}}\1{_YEAR}"
    rf"|(?:19|20)\d{{2}}([./\-])\d{{1,2}}\2\d{{1,2}}"
    rf"|\d{{1,2}}(?:-?го|-е)?\s*{_MONTH_RU}\s*{_YEAR}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH_EN},?\s+(?:(?:19|20)\d{{2}}|'\d{{2}})"
    rf"|{_MONTH_EN}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:(?:19|20)\d{{2}}|'\d{{2}}))(?!\d|[.,/\-]\d)",
    re.IGNORECASE)
# The cue ends right before the date, with at most four separators between: «дата рождения: », «др», «d.o.b. ».
_CUE = re.compile(
    r"(?:(?<![^\W\d_])(?<!\bи\s)(?:др|д\.\s?р\.?|д/р|дата\s+рожд(?:ения|\.)?|рожд\.?|род\.|родил(?:ся|ась)|рожд[её]н[аы]?"
    r"|(?:мой\s+)?день\s+рождения|dob|d\.o\.b\.?|b\.|born(?:\s+on)?|date\s+of\s+birth|birth\s*date|birthday(?:\s+is)?)"
    r")[\s:.\-\u2014\u2013]{0,4}\Z", re.IGNORECASE)
CUE_WINDOW = 32
_CUE_WORDS = ("др", "д.р", "д. р", "д/р", "рожд", "род.", "родил", "dob", "d.o.b", "b.", "born", "birth")


class ChatDateOfBirthRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["DATE_OF_BIRTH"], supported_language=supported_language,
                         name=f"ChatDateOfBirth_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        lowered = text.lower()
        if "DATE_OF_BIRTH" not in entities or not any(w in lowered for w in _CUE_WORDS):
            return []
        return [found(self, "DATE_OF_BIRTH", m.start(), with_suffix(text, m.end()), 0.8) for m in _DATE.finditer(text)
                if _CUE.search(text[max(0, m.start() - CUE_WINDOW):m.start()])]
