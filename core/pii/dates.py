"""Dates of birth (DATE_OF_BIRTH): a date written near a word that says it is a birth date.

Other dates (delivery, invoice, end of support) stay visible. Formats: 03/22/1979, 22.08.1983, 1990-05-03,
14-06-1989, 14 July 1986, Jan 30, 1975, 17th of August 1969, 12-Mar-1985, 12 марта 1985; cues: born, DOB, date
of birth, birthday, d.o.b., родился/родилась, дата рождения, рожд., д.р., д/р, г.р. (before the date or right
after it: "... is my date of birth", «— моя дата рождения»). A year alone only right next to its cue.
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from core.pii.results import found

_MONTHS_EN = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
# Genitive and nominative month names and their abbreviations («5 мар 1990», «12 апр. 1986»).
_MONTHS_RU = (r"(?:январ[яь]|феврал[яь]|марта?|апрел[яь]|ма[яй]|июн[яь]|июл[яь]|августа?|сентябр[яь]|октябр[яь]"
              r"|ноябр[яь]|декабр[яь]|(?:янв|фев|мар|апр|июн|июл|авг|сент?|окт|нояб?|дек)\.?)(?![а-яё])")
_DAY_RU = r"\d{1,2}(?:-?го|-е)?"  # «12-го апреля», «5-е марта»
_YEAR = r"(?:19|20)\d{2}"
# A month and a year without a day, nominative or prepositional («март 1991», «в марте 1991»): only near a cue.
_MONTH_YEAR_RU = (r"(?:январ[еья]|феврал[еья]|марте?|апрел[еья]|ма[еяй]|июн[еья]|июл[еья]|августе?|сентябр[еья]"
                  r"|октябр[еья]|ноябр[еья]|декабр[еья])\s+" + _YEAR)
_DATE = re.compile(
    rf"(?<![\d.])(?:\d{{1,2}}[./\-]\d{{1,2}}[./\-](?:{_YEAR}|\d{{2}})"
    rf"|{_YEAR}[./\-]\d{{1,2}}[./\-]\d{{1,2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTHS_EN},?\s+{_YEAR}"
    rf"|\d{{1,2}}[\-/]{_MONTHS_EN}[\-/](?:{_YEAR}|\d{{2}})"
    rf"|{_MONTHS_EN}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+{_YEAR}"
    rf"|{_DAY_RU}\s*{_MONTHS_RU}\s*(?:{_YEAR}|\d{{2}}(?=\s*г))|{_MONTH_YEAR_RU})(?![\d.]\d)",
    re.IGNORECASE,
)
_CUE_BEFORE = re.compile(
    r"(?:\bborn\b|\bdob\b|\bd\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthday|\bbday\b|\bb-day\b"
    r"|родил(?:ся|ась|ись)|рожд(?:ения|ение|енный|ённый|ённая|енная|[её]н|[её]на|\.)|\bрод\.|\bд\.\s?р\.?|\bд/р\b"
    r"|день\s+рождения"
    r"|(?<!\bи\s)\bдр\b)",  # «и др.» is "and others"
    re.IGNORECASE,
)
_CUE_AFTER = re.compile(
    r"\A\s*(?:г\.?\s?р\.?|года\s+рождения|г\.\s*рождения|\(dob\)|\(д\.р\.\)"
    r"|(?:is|was|[\-—–:=])?\s*(?:my|his|her|their|the|a)?\s*(?:real\s+|correct\s+|actual\s+)?"
    r"(?:date\s+of\s+birth|birth\s*date|birthday|dob\b)"
    r"|[\-—–:=]?\s*(?:это\s+)?(?:моя|мой|его|её|ее|наша)?\s*(?:настоящая\s+)?(?:дата\s+рождения|день\s+рождения))",
    re.IGNORECASE)
# Day, month and year separated by spaces («дата рождения: 05 03 1990») only right after the cue: the shape is
# also a passport series and a phone's tail.
_SPACED_DATE = re.compile(rf"(?<![\d.])\d{{2}}\s\d{{2}}\s{_YEAR}(?![\d.]?\d)")
_SPACED_CUE = re.compile(_CUE_BEFORE.pattern + r"[\s:.\-—–]{0,4}\Z", re.IGNORECASE)
# Between a date of birth and a date that corrects it: «с 12.03.1985 на 13.03.1985», "not 12/03/1985 but 13/03/1985".
_CORRECTION = re.compile(r"\s*(?:г\.?)?\s*(?:на|а\s+не|вместо|или|->|→|=>|—|-|to|or|instead\s+of|not|but|,\s*а)"
                         r"\s*(?:на\s+)?", re.IGNORECASE)
CUE_WINDOW = 64  # characters before the date in which a cue counts
# A year alone is a date of birth only right next to its cue: "born in 1985", «1985 г.р.», «год рождения 1990».
_YEAR_ALONE = re.compile(rf"(?<![\d.\-/])(?:{_YEAR}|'\d{{2}})(?![\d.\-/]\d|\d)")
_YEAR_CUE_BEFORE = re.compile(r"(?:\bborn\s+(?:in\s+)?|\byear\s+of\s+birth:?\s*|\bb\.\s*|год\s+рождения\s*[:\-—–]?\s*"
                              r"|\bdob:?\s*|\bг\.\s?р\.:?\s*|\bд\.\s?р\.:?\s*"
                              r"|родил(?:ся|ась)\s+в\s+|рожд[её]н[аы]?\s+(?:в\s+)?|дата\s+рождения\s*[:\-—–]?\s*|ро(?:ж)?д\.\s*:?\s*"
                              r"|(?<!\bи\s)\bдр\b\.?:?\s*)\Z", re.IGNORECASE)
# A date without a year ("5 марта", "05.03", "March 5") only right after its cue: «родился 5 марта», «д.р. 05.03».
_NO_YEAR = re.compile(rf"(?<![\d.])(?:\d{{1,2}}\.\d{{1,2}}|{_DAY_RU}\s+{_MONTHS_RU}"
                      rf"|{_MONTHS_EN}\s+\d{{1,2}}(?:st|nd|rd|th)?"
                      rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTHS_EN})(?![\d.\-/]*\d|\s*,?\s*(?:19|20)\d\d)",
                      re.IGNORECASE)
_NO_YEAR_CUE = re.compile(r"(?:\bborn\s+(?:on\s+)?|birthday\s+(?:is\s+)?(?:on\s+)?|\bdob:?\s*|родил(?:ся|ась)\s+"
                          r"|рожд[её]н[аы]?\s+|\bд\.\s?р\.:?\s*|\bд/р:?\s*|(?<!\bи\s)\bдр\b\.?:?\s*(?:у\s+меня\s+)?(?:[-—–]\s*)?|день\s+рождения(?:\s+у\s+меня)?:?\s*(?:[-—–]\s*)?)\Z",
                          re.IGNORECASE)
# What follows a year and belongs to the date: «1985 г.», «1985г.р.», «1985 года», «85-го», «1999 г».
_YEAR_SUFFIX = re.compile(r"-го(?![а-яё])|\s?(?:г\.?\s?р\.?|года|г\.?)(?![а-яё])", re.IGNORECASE)
# After a date of birth, the next one of a list: «др мужа 12.03.1980, жены 05.06.1982», «…, у сына 5 марта 2015».
_NEXT_IN_LIST = re.compile(
    r"(?:\s*г\.?)?\s*(?:,|;|\sи|\sand)\s*(?:(?:а|и|and)\s+)?(?:(?:у|his|her|my)\s+)?(?:(?:мужа|жены|супруг[аи]|сына|дочер?и|"
    r"дочки|реб[её]нка|детей|мамы|матери|папы|отца|брата|сестры|бабушки|дедушки|husband|wife|son|daughter|mother|"
    r"father|mom|dad|brother|sister|child|kid)\b\s*(?:[:\-—–]|is)?\s*)?", re.IGNORECASE)
# A date after a clause break and a preposition is an event of its own: «день рождения сына, торт нужен к
# 15.08.2024», «родился сын, поэтому отпуск с 01.08.2024».
_EVENT_AFTER_BREAK = re.compile(r"[,;!?.]\s*[^\W\d_]+\s+(?:[^\W\d_]+\s+)*"
                                r"(?:к|ко|с|со|до|по|от|на|после|перед|since|from|until|till|by|before|after)\s+\Z",
                                re.IGNORECASE)


def with_suffix(text: str, end: int) -> int:
    """The end of a date of birth with what follows its year («г.», «г.р.», «года», «-го»)."""
    m = _YEAR_SUFFIX.match(text, end)
    return m.end() if m else end


_YEAR_CUE_AFTER = re.compile(r"\A\s*(?:г\.?\s?р\.?|года\s+рождения|г\.\s*рождения|года?\s+р\.)", re.IGNORECASE)
# Between a birth word and a date, a word that gives the date another meaning: "born in Ohio, my order from
# 12.03.2024", "birthday party booking for 2024-06-15", «родилась в Казани, а заказ оформила 03.11.2024».
_OTHER_DATE = re.compile(
    r"\b(?:order(?:ed|s)?|deliver(?:y|ed)|ship(?:ped|ping|s)?|invoice[ds]?|paid|payment|purchased?|bought|booking|"
    r"booked|party|reservation|since|expir(?:es|ed|y)|until|valid|opened|registered|joined|signed|renew(?:al|ed)\s+on|"
    r"заказ\w*|оформил\w*|достав\w*|оплат\w*|оплачен\w*|куплен\w*|купил\w*|счёт\w*|счет\w*|"
    r"договор\w*|зарегистр\w*|действ\w*|отправ\w*|праздн\w*|бронь|брониров\w*)", re.IGNORECASE)


# Every cue above holds one of these words, or a match of one of the small regexes after its anchor, in the
# lower-cased text (~5 us for 500 characters; the cue regexes with IGNORECASE take ~0.2 ms): a message without
# any is no date of birth, whatever dates it has.
_CUE_WORDS = ("born", "birth", "dob", "d.o.b", "bday", "b-day", "родил", "рожд", "д/р", "род.")
_CUE_ANCHORED = (("b.", re.compile(r"\bb\.\s*['\d]")), ("д.", re.compile(r"\bд\.\s?р")), ("др", re.compile(r"\bдр\b")),
                 ("г", re.compile(r"\d\s*г\.?\s?р")), ("г.", re.compile(r"\bг\.\s?р\.")),
                 ("год", re.compile(r"\bгода?\s+р\.")))


def has_birth_cue(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in _CUE_WORDS) or any(
        anchor in lowered and rx.search(lowered) for anchor, rx in _CUE_ANCHORED)


class DateOfBirthRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["DATE_OF_BIRTH"], supported_language=supported_language,
                         name=f"DateOfBirth_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "DATE_OF_BIRTH" not in entities or not has_birth_cue(text):
            return []  # no birth word anywhere: no date here is a date of birth
        out = []
        last_end = -1  # the end of the last date of birth found by _DATE
        for m in _DATE.finditer(text):
            if last_end >= 0 and (_CORRECTION.fullmatch(text[last_end:m.start()])
                                  or _NEXT_IN_LIST.fullmatch(text[last_end:m.start()])):
                out.append(found(self, "DATE_OF_BIRTH", m.start(), with_suffix(text, m.end()), 0.8))
                last_end = m.end()
                continue
            before = text[max(0, m.start() - CUE_WINDOW):m.start()]
            # the last cue before the date: «дата рождения мужа 12.03.1980, жены 05.06.1982»
            cue = next(reversed(list(_CUE_BEFORE.finditer(before))), None)
            # The cue must belong to this date: no other date between them.
            between = before[cue.end():] if cue else ""
            if cue and (_DATE.search(between) or _OTHER_DATE.search(between) or _EVENT_AFTER_BREAK.search(between)):
                cue = None
            if cue or _CUE_AFTER.match(text[m.end():]):
                out.append(found(self, "DATE_OF_BIRTH", m.start(), with_suffix(text, m.end()), 0.8))
                last_end = m.end()
        for m in _SPACED_DATE.finditer(text):
            if _SPACED_CUE.search(text[max(0, m.start() - 32):m.start()]):
                out.append(found(self, "DATE_OF_BIRTH", m.start(), with_suffix(text, m.end()), 0.8))
        for m in _YEAR_ALONE.finditer(text):
            if _YEAR_CUE_BEFORE.search(text[max(0, m.start() - 24):m.start()]) or _YEAR_CUE_AFTER.match(text[m.end():]):
                out.append(found(self, "DATE_OF_BIRTH", m.start(), with_suffix(text, m.end()), 0.8))
        for m in _NO_YEAR.finditer(text):
            if _NO_YEAR_CUE.search(text[max(0, m.start() - 32):m.start()]):
                out.append(found(self, "DATE_OF_BIRTH", m.start(), m.end(), 0.8))
        return out
