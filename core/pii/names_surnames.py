"""Names the given-name list misses, found by their surname or their place in a message (PERSON).

- A listed surname (`last_names.txt`, ~20,600 non-English surnames from Faker, MIT; regenerate with
  `python -m core.pii.data.make_last_names`) in a run of two or three capitalised words whose other words could be
  names ("Haruto Takahashi", "Nguyen Thi Mai", "Olumide Boateng"): the run is a name. Written in capitals when
  the message is ("AMINA YUSUF CANNOT ACCESS"), and in lower case after a listed given name ("sven eriksson";
  in a message all in lower case, also a word that is no English word: "tobias schneider").
- A particle that only joins a person's names ("Siobhán Ní Bhriain", "Ludwig van Beethoven", "Omar bin Said").
- A list item of two or three capitalised words that are no English, brand or place words ("- Olumide Adebayo").
- A sign-off line ("thanks", "Best,") and then, on a line of its own, one to three capitalised words: the writer
  ("ok thanks\\n\\nRutger").
"""

from __future__ import annotations

import re
from functools import cache

from presidio_analyzer import LocalRecognizer, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from core.pii.first_names import (
    COMMON_WORDS,
    NOT_PEOPLE,
    NOT_PEOPLE_NAMES,
    NOT_PEOPLE_TAILS,
    PLACE_PREFIXES,
    english_words,
    is_ambiguous_given_name,
    is_given_name,
    without_possessive,
    word_list,
)
from core.pii.names_filter import keep_names
from core.pii.names_latin import latin, plausible_latin_name
from core.pii.nlp_engine import OPENERS
from core.pii.places import PLACES
from core.pii.results import found


@cache
def last_names() -> frozenset[str]:
    return word_list("last_names.txt")


_WORD = latin(r"(?:Mc|Mac|O['’])?[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þa-zà-ÿ][a-zà-ÿ'’]+)*")
_RUN = re.compile(rf"(?<![^\W\d_])(?:{_WORD})(?:[ \t]+(?:{_WORD}))+(?![^\W\d_])")
_CAPS_RUN = re.compile(latin(r"(?<![^\W\d_])[A-ZÀ-Þ]{2,}(?:[ \t]+[A-ZÀ-Þ]{2,})+(?![^\W\d_])"))
_LOW = latin(r"[a-zà-ÿ]{3,}")
_HAS_LOWER_LATIN = re.compile(r"[a-z]{3}")
_LOWER_PAIR = re.compile(rf"(?<![^\W\d_])({_LOW})[ \t]+(?=({_LOW})(?![^\W\d_]))")
_JOINED = re.compile(latin(rf"(?<![^\W\d_])({_WORD})[ \t]+(?:van der|van den|van de|van|von|ter|ten|bin|ibn|bint|"
                           rf"Ní|Nic|Ó|Ua)[ \t]+({_WORD})(?![^\W\d_])"))
_PARTICLE_HINT = re.compile(r"[ \t](?:van|von|ter|ten|bin|ibn|bint|Ní|Nic|Ó|Ua)[ \t]")
_SIGN_OFF = re.compile(r"(?:^|\n)[ \t]*(?:ok[ ,]+|okay[ ,]+|many[ ]+)?(?:thanks|thank you|thx|cheers|regards|"
                       r"best regards|kind regards|best|sincerely|br)[ \t]*[,.!]?[ \t]*\n(?:[ \t]*\n)*[ \t]*"
                       + latin(r"((?:[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þ][a-zà-ÿ'’]+)?)"
                               r"(?:[ \t]+[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þ][a-zà-ÿ'’]+)?){0,2})[ \t]*(?:\n|\Z)"),
                       re.IGNORECASE)
# A list item of two or three capitalised words that are no English, brand or place words: a person
# ("- Olumide Adebayo", "2. Siobhán Keane - monitor"; not "- Reset Password").
_BULLET = re.compile(rf"(?m)^[ \t]*(?:[-*•·]|\d{{1,2}}[.)])[ \t]+((?:{_WORD})(?:[ \t]+(?:{_WORD})){{1,2}})[ \t]*"
                     r"(?=$|[,;(]|[ \t][-–—:][ \t])")
_VERBISH = frozenset("said says told asked called wrote sent needs wants has had is was will can could should would "
                     "did does got came took thinks knows just also here now please man men".split())


def _name_like(word: str) -> bool:
    """A capitalised word that could be part of a person's name: no stop, common, brand, place or opening word."""
    low = without_possessive(word.lower())
    if len(low) < 2 or low in STOP_WORDS or low in OPENERS or low in NOT_PEOPLE or low in NOT_PEOPLE_TAILS:
        return False
    if low in PLACE_PREFIXES or low in PLACES or low in english_words():
        return False
    return low not in COMMON_WORDS or is_ambiguous_given_name(word.capitalize())


def _surname(word: str) -> bool:
    return without_possessive(word) in last_names()



def _runs(text: str, rx: re.Pattern[str], caps: bool) -> list[tuple[int, int]]:
    out = []
    for m in rx.finditer(text):
        words = [(w.start() + m.start(), w.end() + m.start(), w.group()) for w in re.finditer(r"\S+", m.group())]
        titled = [w.capitalize() if caps else w for _, _, w in words]
        done = -1
        for i, word in enumerate(titled):
            if i <= done or not _surname(word) or not _name_like(word):
                continue
            lo = i
            while lo > done + 1 and _name_like(titled[lo - 1]) and i - lo < 2:
                lo -= 1
            hi = i
            while hi + 1 < len(titled) and _name_like(titled[hi + 1]) and hi - lo < 2 \
                    and (not caps or _surname(titled[hi + 1]) or is_given_name(titled[hi + 1])):
                hi += 1
            pairs = {f"{a} {b}".lower() for a, b in zip(titled[lo:hi], titled[lo + 1:hi + 1], strict=True)}
            if hi > lo and plausible_latin_name(" ".join(titled[lo:hi + 1])) and not pairs & NOT_PEOPLE_NAMES:
                end = words[hi][1] - (2 if words[hi][2].endswith(("'s", "’s")) else 0)
                out.append((words[lo][0], end))
                done = hi
    return out


class SurnameRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language,
                         name=f"Surname_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        spans = _runs(text, _RUN, caps=False)
        if _CAPS_RUN.search(text) and sum(map(str.isupper, text)) > 0.8 * sum(map(str.isalpha, text)):
            spans += _runs(text, _CAPS_RUN, caps=True)
        all_lower = not any(c.isupper() for c in text)
        for m in _LOWER_PAIR.finditer(text) if _HAS_LOWER_LATIN.search(text) else ():
            first, last = m.group(1), m.group(2)
            # a surname listed, or, in a message written all in lower case, a word that is no English word, brand
            # or verb ("we hired tobias schneider"; not "the server daemon" of a manual)
            if is_given_name(first.capitalize()) and first not in STOP_WORDS and first not in _VERBISH \
                    and last not in STOP_WORDS and last not in _VERBISH and (_surname(last.capitalize()) or (
                        all_lower and last not in english_words() and last not in NOT_PEOPLE
                        and last not in COMMON_WORDS)):
                spans.append((m.start(), m.end(2)))
        for m in _JOINED.finditer(text) if _PARTICLE_HINT.search(text) else ():
            if _name_like(m.group(1)) and _name_like(m.group(2)):
                spans.append(m.span())
        for m in _BULLET.finditer(text) if "\n" in text else ():
            if all(_name_like(w) for w in m.group(1).split()) and plausible_latin_name(m.group(1)):
                spans.append(m.span(1))
        for m in _SIGN_OFF.finditer(text):
            words = m.group(1).split()
            if all(_name_like(w) for w in words) and plausible_latin_name(m.group(1)):
                spans.append(m.span(1))
        return keep_names(text, [found(self, "PERSON", s, e, 0.6) for s, e in spans])
