"""Names in the shapes the given-name list, the cue words and the NER model miss (PERSON).

- Possessives: two or three capitalised words before 's ("Olusegun Adeyemi's laptop"). The small spaCy model
  often tags these ORG; a company's possessive is rarer in a support chat than a colleague's, so unless a word
  is a listed brand, a company word (Corp, Bank, Team), a place prefix or a day/month, it is a name (fail closed).
- A listed given name that is also a word ("Grace", "Hope", "Joy") as a message header: "from Grace:".
- Greek-script names: two or three capitalised Greek words ("Ιωάννης Παπαδόπουλος").
- Names in URL paths: a listed given name joined to a surname by - . or _ ("/contacts/tomasz-wisniewski-4821").
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult

from core.pii.first_names import (
    COMMON_WORDS,
    NOT_PEOPLE,
    PLACE_PREFIXES,
    is_ambiguous_given_name,
    is_given_name,
)
from core.pii.names_filter import keep_names
from core.pii.names_latin import latin, plausible_latin_name
from core.pii.nlp_engine import OPENERS
from core.pii.results import found

_CAP = latin(r"(?:Mc|Mac|O['’])?[A-ZÀ-Þ][a-zà-ÿ]+(?:-[A-ZÀ-Þ][a-zà-ÿ]+)?")
_POSSESSIVE = re.compile(rf"(?<![^\W\d_])({_CAP}(?:[ \t]+{_CAP}){{1,2}})['’]s(?![^\W\d_])")
_HEADER = re.compile(latin(r"\b(?:from|by|per)[ \t]+([A-ZÀ-Þ][a-zà-ÿ]+)(?=[ \t]*[:—–])"), re.IGNORECASE)
_GREEK_WORD = r"[Α-ΩΆΈΉΊΌΎΏ][α-ωάέήίόύώϊϋΐΰς]+"
_GREEK = re.compile(rf"(?<![^\W\d_]){_GREEK_WORD}(?:[ \t]+{_GREEK_WORD}){{1,2}}(?![^\W\d_])")
_URL = re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
_SLUG = re.compile(r"(?<![a-z])([a-z]{2,})[-._]([a-z]{3,})(?![a-z])", re.IGNORECASE)
_COMPANY = frozenset("""corp corporation inc ltd llc plc gmbh ag group bank university college school team department
office support service services systems solutions store shop airlines airways hotel hospital clinic council
ministry agency company co club foundation institute labs studio studios holdings partners capital""".split())



# Who else writes "from X:" in a support chat: teams, departments and systems.
_SENDERS = frozenset("""finance support sales billing hr it legal marketing accounting accounts procurement admin
management security ops operations engineering helpdesk reception facilities payroll logistics shipping
warehouse dispatch compliance audit risk treasury purchasing recruiting recruitment customer customers client
clients partner partners vendor vendors supplier suppliers head headquarters hq office manager management
product design research development devops infra infrastructure network networking qa testing service
services system systems monitoring alerts alert noreply notifications bot jenkins ci cd build release legal
above below earlier yesterday today tomorrow there here home work them us me him her tenant patient employee
staff member someone somebody nobody anyone everyone user guest company mum mom dad""".split())


def _header_name(m: re.Match[str]) -> bool:
    """"from Oluwaseun:": a capitalised word that is no team, brand, company, common or opening word."""
    return m.group().lower().startswith("from") and _unlisted_name(m.group(1))


def _unlisted_name(word: str) -> bool:
    low = word.lower()
    return (len(word) >= 3 and word[0].isupper() and word[1:].islower() and low not in _SENDERS
            and low not in NOT_PEOPLE and low not in _COMPANY and low not in COMMON_WORDS and low not in OPENERS
            and low not in PLACE_PREFIXES and plausible_latin_name(word))


# A listed given name (also one that is a word: "Grace", "Hope") alone at the end of a message, after a comma or on
# its own line: a signature ("Hope this helps, Grace").
_SIGNATURE = re.compile(latin(r"(?:,|\n)[ \t]*([A-ZÀ-Þ][a-zà-ÿ]{2,})[ \t]*[.!]?\s*\Z"))
# One word that signs a message ("Hi team, Arash here") or owns a person's things ("Kenji's phone").
_HERE = re.compile(latin(r"(?:^|(?<=[,.!;:\n]))[ \t]*([A-ZÀ-Þ][a-zà-ÿ]{2,})[ \t]+here\b"))
_OWNER = re.compile(latin(r"(?<![^\W\d_])([A-ZÀ-Þ][a-zà-ÿ]{2,})['’]s[ \t]+(?:(?:new|old|work)[ \t]+)?"
                          r"(?:account|laptop|phone|mobile|email|e-mail|password|badge|mailbox|computer|pc|login|desk|"
                          r"wife|husband|son|daughter|mother|father|boss|manager|car|salary|payslip|contract|passport|"
                          r"token|monitor|headset|keyboard|macbook|iphone|inbox|calendar|home)\b"))


def _possessive_name(words: list[str]) -> bool:
    for w in words:
        low = w.lower()
        if low in NOT_PEOPLE or low in _COMPANY or low in PLACE_PREFIXES or low in OPENERS:
            return False
        if low in COMMON_WORDS and not is_ambiguous_given_name(w):
            return False
    return plausible_latin_name(" ".join(words))


class NameShapesRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language,
                         name=f"NameShapes_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        out = []
        if "'" in text or "’" in text:
            for m in _POSSESSIVE.finditer(text):
                if _possessive_name(m.group(1).split()):
                    out.append(found(self, "PERSON", m.start(1), m.end(1), 0.6))
        for m in _HEADER.finditer(text):
            word = m.group(1)
            if word[0].isupper() and (is_given_name(word) or is_ambiguous_given_name(word) or _header_name(m)):
                out.append(found(self, "PERSON", m.start(1), m.end(1), 0.6))
        out.extend(found(self, "PERSON", m.start(), m.end(), 0.7) for m in _GREEK.finditer(text))
        sig = _SIGNATURE.search(text)
        if sig and sig.group(1).lower() not in OPENERS and (is_given_name(sig.group(1))
                                                           or is_ambiguous_given_name(sig.group(1))):
            out.append(found(self, "PERSON", sig.start(1), sig.end(1), 0.6))
        if " here" in text:
            out.extend(found(self, "PERSON", m.start(1), m.end(1), 0.6)
                       for m in _HERE.finditer(text) if _unlisted_name(m.group(1)))
        if "'s " in text or "’s " in text:
            out.extend(found(self, "PERSON", m.start(1), m.end(1), 0.6)
                       for m in _OWNER.finditer(text) if _unlisted_name(m.group(1)))
        if "/" in text or "www." in text:
            for url in _URL.finditer(text):
                for m in _SLUG.finditer(url.group()):
                    first, last = m.group(1).title(), m.group(2).lower()
                    if is_given_name(first) and last not in NOT_PEOPLE and last not in COMMON_WORDS:
                        out.append(found(self, "PERSON", url.start() + m.start(), url.start() + m.end(), 0.6))
        return keep_names(text, out)
