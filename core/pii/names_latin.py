"""Names in Latin script (PERSON) beyond what the small spaCy model finds.

- `CueNameRecognizer`: the words people put around a name in chat: greetings and sign-offs ("hi tom",
  "Thanks,\\nRahul Venkataraman"), titles ("mrs okafor", "Dr Eleanor Whitfield"), introductions ("my name
  is", "this is", "I'm"), headers ("From:", "cc:") and roles ("ask", "account holder", "my manager"). After a
  greeting or a title a lower-case word is a name too; elsewhere the name must be capitalised (or written in
  capitals when the text around it is). Name particles (van der, de, al, bin...) stay inside the span.
- `FilteredSpacyRecognizer`: Presidio's spaCy recognizer without spans that cannot be a Latin-script
  person name (Cyrillic, digits, an e-mail, one lower-case word).
- `LatinRunsRecognizer`: in text analysed as Russian, the English NER model runs on the Latin-script runs
  (a Dutch name in a Russian message).
"""

from __future__ import annotations

import re
from typing import Any

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import SpacyRecognizer
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from core.pii.first_names import (
    COLOUR_TAILS,
    COMMON_WORDS,
    NOT_PEOPLE,
    NOT_PEOPLE_NAMES,
    NOT_PEOPLE_TAILS,
    english_words,
    first_names,
    given_name_start,
    is_given_name,
    without_possessive,
)
from core.pii.names_filter import CONTRACTIONS, FOREIGN_NAMES, keep_names
from core.pii.results import found

_EXT_A = [chr(c) for c in range(0x100, 0x180)]
_UP = "A-ZÀ-ÖØ-Þ" + "".join(c for c in _EXT_A if c.isupper())
_LO = "a-zß-öø-ÿ" + "".join(c for c in _EXT_A if c.islower())


def latin(pattern: str) -> str:
    """`pattern` with its [A-ZÀ-Þ] / [a-zà-ÿ] classes widened to Latin Extended-A ("Yılmaz", "Łukasz", "Dvořák")."""
    return pattern.replace("A-ZÀ-Þ", _UP).replace("a-zà-ÿ", _LO)


_TOKEN = latin(r"(?:Mc|Mac|O['’]|D['’]|De|Di|Le|La|Fitz)?[A-ZÀ-Þ][a-zà-ÿ'’]+(?:-[A-ZÀ-Þa-zà-ÿ][a-zà-ÿ'’]+)*|[A-ZÀ-Þ]\.|"
          r"[A-ZÀ-Þ]{2,}(?:-[A-ZÀ-Þ]{2,})?")
_PARTICLE = r"(?:van|von|der|den|de|da|di|del|della|du|la|le|al|el|bin|ibn|ben|bint|ter|ten|dos|das|mac|st\.)"
# A token ends where the word does: "SharePoint", "FedEx" are not "Share", "Fed".
_WORD_END = r"(?![^\W\d_])"
_NAME = re.compile(rf"(?<![^\W\d_])(?:{_TOKEN}){_WORD_END}"
                   rf"(?:[ \t]+(?:{_PARTICLE}[ \t]+)*(?:{_TOKEN}){_WORD_END}){{0,3}}")
_LOWER = re.compile(latin(r"[a-zà-ÿ][a-zà-ÿ'’]+(?:-[a-zà-ÿ]+)?"))
_GREETING = re.compile(
    r"(?:^|(?<=[\n.!?;:—(])|(?<=\s-))[ \t]*(?:hi|hello|hey|hiya|dear|thanks|thank you|thx|ty|cheers|regards|"
    r"best regards|kind regards|warm regards|best wishes|best|sincerely|bye|yours|br|good morning|good afternoon|"
    r"good evening|morning)[ \t]*[,!.:\-—]?[ \t]*\n?[ \t]*", re.IGNORECASE | re.MULTILINE)
_TITLE = re.compile(r"\b(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle|herr|frau|sr|sra|signor|signora)\.?[ \t]+",
                    re.IGNORECASE)
# After these a name is written in lower case too, one to three words ("my name is claude dubois").
_STRONG_INTRO = re.compile(r"\b(?:my name is|my name's|full name:?|name:|account holder:?|cardholder:?)"
                           r"(?:[ \t]+|[ \t]*\n[ \t]*)",
                           re.IGNORECASE)
_LOWER_NAME = re.compile(latin(r"[a-zà-ÿ][a-zà-ÿ'’]+(?:-[a-zà-ÿ]+)?(?:[ \t]+[a-zà-ÿ][a-zà-ÿ'’]+(?:-[a-zà-ÿ]+)?){0,2}"))
_INTRO = re.compile(
    r"\b(?:my name is|name is|name:|full name:?|this is|i am|i'm|it's|from:|to:|cc:|bcc:|signed by|assigned to|"
    r"contact(?: person)?:?|ask for|ask|tell|talk (?:to|with)|speak (?:to|with)|ping|cc|holder:?|account holder:?|"
    r"cardholder:?|manager|colleague|courier|driver|"
    r"technician|agent|recipient:?|attn:?|attention:?|c/o|spoke (?:with|to)|talked (?:with|to)|emailed|"
    r"messaged|called|wife|husband|son|daughter|mother|father|boss|employee|user|customer|tenant|guest|"
    r"passenger|patient|client|named|name's|on behalf of|forwarded by|written by|approved by|sent by|and|"
    r"addressed to|made out to|in the name of|under the name(?: of)?|registered to|belongs to)"
    r"(?:[ \t]+|[ \t]*\n[ \t]*)", re.IGNORECASE)
_STOP = frozenset(STOP_WORDS) | {
    "team", "all", "everyone", "everybody", "there", "guys", "folks", "support", "again", "so", "much", "lot",
    "sir", "madam", "morning", "afternoon", "evening", "regards", "thanks", "hello", "hi", "hey", "dear",
    "please", "urgent", "asap", "ok", "okay", "sorry", "yes", "no", "friend", "friends", "colleagues", "admin",
    "guest", "user", "customer", "client", "manager", "sales", "billing", "help", "helpdesk", "it", "hr",
    "lady", "lord", *CONTRACTIONS,
}
# A city or a site before these is a place, not a person ("the Austin team", "our Dublin office").
_SITE = re.compile(r"[ \t]+(?:team|office|offices|site|branch|datacenter|data center|warehouse|store|campus|hq|"
                   r"plant|depot|hub|crew|staff)\b", re.IGNORECASE)


_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})



def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop stop words and all-caps acronyms the name pattern took at either end ("Thanks Team IT")."""
    words = [(m.start() + start, m.end() + start, m.group()) for m in re.finditer(r"\S+", text[start:end])]
    while words and (words[-1][2].lower().strip(".") in _STOP or (re.fullmatch(_PARTICLE, words[-1][2].lower())
                                                                  and words[-1][2].lower() not in FOREIGN_NAMES)):
        words.pop()
    while words and words[0][2].lower().strip(".") in _STOP:
        words.pop(0)
    if not words:
        return None
    if all(w.isupper() and len(w) <= 4 for _, _, w in words) and not text[start:end].isupper():
        return None  # "IT", "HR", "VPN"
    return words[0][0], words[-1][1]


# After a role a lower-case listed given name is a name ("the technician bjorn said", "courier ahmed"), also after
# a self-introduction or a chat cue ("it's chidi again", "I'm fatima", "talk to sarah", "ping willemijn").
_ROLE = re.compile(r"manager|colleague|courier|driver|technician|agent|wife|husband|son|daughter|mother|father|"
                   r"boss|employee|customer|tenant|guest|passenger|patient|client|named|spoke (?:with|to)|"
                   r"talked (?:with|to)|ask for|ask|tell|talk (?:to|with)|speak (?:to|with)|ping|cc:?|"
                   r"contact(?: person)?:?|assigned to|signed by|i'm|i’m|i am|it's|it’s|this is")


_ROLE_COMMA = re.compile(rf"\b(?:{_ROLE.pattern})[ \t]*,[ \t]*", re.IGNORECASE)


def _listed_lower(text: str, low: re.Match[str]) -> bool:
    word = without_possessive(low.group())
    return (is_given_name(word.capitalize()) and word not in _VERB_LIKE
            and not text[low.end():low.end() + 1].isdigit())


def _lower_end(text: str, low: re.Match[str]) -> int:
    """The end of a lower-case name: a listed given name and a surname after it ("ahmed karimi"), not a verb."""
    end = low.end() - (2 if low.group().endswith(("'s", "’s")) else 0)
    nxt = _LOWER.match(text, end + 1) if text[end:end + 1] == " " else None
    if nxt and nxt.group() not in _STOP and nxt.group() not in _VERB_LIKE and not nxt.group().endswith(("ed", "ing")):
        return nxt.end()
    return end


_VERB_LIKE = frozenset({"said", "says", "left", "told", "asked", "called", "wrote", "sent", "needs", "wants", "has",
                        "had", "is", "was", "will", "can", "could", "should", "would", "did", "does", "got", "gets",
                        "came", "comes", "took", "takes", "brought", "thinks", "knows", "just", "also", "here",
                        "today", "yesterday", "tomorrow", "now", "again", "please", "about", "from", "at", "on",
                        "in", "to", "with", "for", "and", "or", "but", "the", "a", "an", "dropped",
                        # listed given names that are also English words: "said", "made", "per", "among"...
                        "made", "among", "per", "beat", "else", "ever", "floor", "gun", "guy", "job", "line", "lot",
                        "man", "summer", "hope", "bill", "peace", "max", "sad", "valid", "odd", "eve", "min"})


# "<name> from <team>": the teams a colleague says they are from in a support chat.
_FROM_TEAM = re.compile(latin(
    r"(?<![^\W\d_])([A-Za-zà-ÿÀ-Þ][a-zà-ÿ'’]+)(?:[ \t]+([A-Za-zà-ÿÀ-Þ][a-zà-ÿ'’]+(?:-[A-Za-zà-ÿ][a-zà-ÿ]+)?))?"
    r"[ \t]+from[ \t]+(?:the[ \t]+|our[ \t]+)?(?:accounting|accounts|finance|hr|it|sales|marketing|legal|support|"
    r"billing|procurement|purchasing|logistics|warehouse|payroll|engineering|security|facilities|reception|ops|"
    r"operations|admin|devops|qa|helpdesk|help desk|compliance|design|product|customer service|dispatch|shipping)"
    r"(?![^\W\d_])"), re.IGNORECASE)


def _given_word(word: str) -> bool:
    """A listed given name; capitalised before "from <team>", one that is also a common word counts ("Mark")."""
    low = word.lower()
    if low in _STOP:
        return False
    if word[:1].isupper() and word in first_names():
        return True
    return low not in _VERB_LIKE and is_given_name(without_possessive(low).capitalize())


class CueNameRecognizer(LocalRecognizer):
    def __init__(self, supported_language: str) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language,
                         name=f"CueName_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        out = []
        for rx, lower_ok in ((_GREETING, True), (_TITLE, True), (_INTRO, False), (_ROLE_COMMA, False)):
            for cue in rx.finditer(text):
                pos = cue.end()
                # A title is part of the name as written ("Mr. Patel", "Dr Amara Nwosu").
                lead = cue.start() if rx is _TITLE else None
                caps_context = cue.group().strip().isupper() and len(cue.group().strip()) > 2
                m = _NAME.match(text, pos)
                if m and (caps_context or not m.group().isupper()):
                    span = _trim(text, m.start(), m.end())
                    value = text[span[0]:span[1]] if span else ""
                    if " " not in value and _SITE.match(text, span[1] if span else pos):
                        continue  # "Sales Manager, Moscow office", "contact Berlin team": a place
                    if span and plausible_latin_name(value):
                        out.append(found(self, "PERSON", lead if lead is not None else span[0], span[1], 0.7))
                    continue
                low = _LOWER.match(text, pos)
                if not low or low.group() in _STOP or len(low.group()) < 3:
                    continue
                if lower_ok:
                    # after a greeting a listed given name takes its surname: "hi, ewa kowalska from accounting here"
                    end = _lower_end(text, low) if rx is _GREETING and _listed_lower(text, low) else low.end()
                    out.append(found(self, "PERSON", lead if lead is not None else low.start(), end, 0.6))
                elif _ROLE.fullmatch(cue.group().strip().rstrip(",").strip().lower()) and _listed_lower(text, low):
                    out.append(found(self, "PERSON", low.start(), _lower_end(text, low), 0.6))
        for cue in _STRONG_INTRO.finditer(text):
            low = _LOWER_NAME.match(text, cue.end())
            words = [(w.start(), w.end(), w.group()) for w in re.finditer(r"\S+", low.group())] if low else []
            while words and words[-1][2] in _STOP:  # "my name is anna and ..." -> "anna"
                words.pop()
            if low and words and words[0][2] not in _STOP and len(words[0][2]) >= 2:
                out.append(found(self, "PERSON", low.start(), low.start() + words[-1][1], 0.6))
        out.extend(self._given_names(text))
        out.extend(self._from_team(text))
        return keep_names(text, out)

    def _from_team(self, text: str) -> list[RecognizerResult]:
        """A listed given name, in any case, right before "from <a team>" ("Mark from accounting says", "ewa
        kowalska from accounting here"): a colleague introduced by their team. A surname after it joins the span."""
        out = []
        for m in _FROM_TEAM.finditer(text):
            first, second = m.group(1), m.group(2)
            if second is None or not _given_word(first):
                if _given_word(second or first):
                    start = m.start(2) if second else m.start(1)
                    out.append(found(self, "PERSON", start, start + len(second or first), 0.6))
                continue
            surname = second.lower() not in _STOP and second.lower() not in _VERB_LIKE and not second.isupper()
            out.append(found(self, "PERSON", m.start(1), m.end(2) if surname else m.end(1), 0.6))
        return out


    def _given_names(self, text: str) -> list[RecognizerResult]:
        """Runs of capitalised words that start with a listed given name ("Kwame Mensah", "ask Aoife")."""
        out = []
        for m in _NAME.finditer(text):
            words = [(w.start() + m.start(), w.end() + m.start(), w.group()) for w in re.finditer(r"\S+", m.group())]
            if m.group().isupper() and not text.isupper():
                continue
            i = given_name_start([w for _, _, w in words])
            if i is None:
                continue
            last = min(i + 1, len(words) - 1) if m.group().isupper() else len(words) - 1  # "KWAME MENSAH CALLED"
            span = _trim(text, words[i][0], words[last][1])
            if span and plausible_latin_name(text[span[0]:span[1]]) \
                    and not (" " not in text[span[0]:span[1]] and _SITE.match(text, span[1])):
                end = span[1] - 2 if text[span[0]:span[1]].endswith(("'s", "’s")) else span[1]
                out.append(found(self, "PERSON", span[0], end, 0.6))
        return out


# A model name right after the words is a product ("Street Fighter 6", "Surface Pro 9"), not a person.
_MODEL_NUMBER = re.compile(r"[ \t]+(?:[A-Z]{0,2}\d{1,3}[A-Za-z]?|[IVX]{1,4})(?![\w.,:/\-]|[ \t]+[A-Z]|[ \t]+\d)")


def _model_says_person(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    if value.islower() and not is_given_name(value.split()[0].capitalize()):
        return False  # "livraison au": the small model on lower-case words
    bare = [w.lower().strip(".,'’") for w in value.split()]
    if all(w in english_words() or w in COMMON_WORDS for w in bare) and any(w in english_words() for w in bare):
        return False  # "Unfortunately", "Customer Success", "Starter Kit": English words that are no listed name
    if _MODEL_NUMBER.match(text, end) and given_name_start(value.split()) is None:
        return False
    if " " not in value and (_SITE.match(text, end) or _LABEL_TO.match(text, end)):
        return False  # "the Austin team", "Bill to:"
    return plausible_latin_name(value)


_LABEL_TO = re.compile(r"[ \t]+to[ \t]*:", re.IGNORECASE)


class FilteredSpacyRecognizer(SpacyRecognizer):
    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        return keep_names(text, [r for r in super().analyze(text, entities, nlp_artifacts)
                                 if _model_says_person(text, r.start, r.end)])


def plausible_latin_name(value: str) -> bool:
    if re.search(r"[\u0400-\u04FF\d@/#_=+]", value) or not re.search(r"[A-Za-zÀ-ÿ]", value):
        return False
    words = value.split()
    if len(words) == 1 and (value.islower() or value.lower() in _STOP):
        return False
    bare = [without_possessive(w.lower().strip(".,'’&")) for w in words]
    if all(w in NOT_PEOPLE for w in bare) or " ".join(w for w in bare if w) in NOT_PEOPLE_NAMES:
        return False  # "Jira", "Grafana", "Microsoft Teams", "Morgan Stanley"
    if len(words) > 1 and bare[0] in NOT_PEOPLE and words[0].strip(".,'’") not in first_names():
        return False  # a brand's product: "Google Meet", "Adobe Acrobat"
    if bare[-1] in NOT_PEOPLE_TAILS or (len(words) > 1 and bare[0] == "the"):
        return False  # "Globex Corporation", "Zoho Desk", "Summer Sale", "The Jenkins Blue Ocean"
    if len(bare) == 2 and bare[0] in COMMON_WORDS and bare[1] in COLOUR_TAILS:
        return False  # "Rose Gold", "Olive Green": a colour, not "Rose" and a surname
    if bare[-1] in _WEEKDAYS:
        return False  # "Black Friday", "Cyber Monday"
    if all(w in english_words() for w in bare):
        return False  # "Premium Plan", "Customer Service": only English words that no gazetteer lists as a name
    return not all(w.lower().strip(".,'’") in _STOP for w in words)


_LATIN_RUN = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’.\-]*(?:[ \t,]+[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’.\-]*)+")


class LatinRunsRecognizer(LocalRecognizer):
    """PERSON in the Latin-script runs of text analysed in another language, by the English NER model."""

    def __init__(self, supported_language: str, nlp: Language) -> None:
        self.nlp = nlp
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language,
                         name=f"LatinRuns_{supported_language}")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: object = None) -> list[RecognizerResult]:
        if "PERSON" not in entities:
            return []
        runs = [m for m in _LATIN_RUN.finditer(text) if re.search(r"[A-Z]", m.group())]
        if not runs:
            return []
        out = []
        for m, doc in zip(runs, self.nlp.pipe(m.group() for m in runs), strict=True):
            for ent in doc.ents:
                if ent.label_ in ("PERSON", "PER") and plausible_latin_name(ent.text):
                    out.append(found(self, "PERSON", m.start() + ent.start_char, m.start() + ent.end_char, 0.8))
        return keep_names(text, out)
