"""The checks a semantic-cache candidate must pass besides cosine similarity, exact-repeat normalisation,
and follow-up detection. Passing them makes a question a candidate for the verifier, never a hit by itself.

Embedding similarity alone confuses questions that differ in one decisive word: "can I get a refund"
vs "why can't I get a refund" (0.82), "ticket 4521" vs "ticket 4522" (0.96), "Slack on Windows" vs
"Slack on Mac" (0.86). So a hit also needs:
- the same negation (both or neither negated);
- the same anchors: numbers, ids and PII placeholders must be identical;
- a stricter threshold when the question is short, or when each side has content words the other lacks
  (a substitution, e.g. "year" -> "month") rather than only extra words (a rephrasing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"<[A-Z][A-Z_]*_\d+>|[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")
NEGATIONS = frozenset({
    "not", "no", "never", "cannot", "without", "none", "nobody", "nothing", "nowhere", "neither", "nor",
    "dont", "doesnt", "didnt", "cant", "couldnt", "wont", "wouldnt", "shouldnt", "isnt", "arent", "wasnt",
    "werent", "hasnt", "havent", "hadnt", "mustnt", "neednt",
    "не", "нет", "нельзя", "ни", "без", "никогда", "ничего", "никто", "нигде",
})
STOPWORDS = frozenset("""
a an the and or but if so of to in on at by for with from into onto about as is are was were be been being am
do does did doing done have has had having i me my mine we us our ours you your yours he him his she her hers
it its they them their this that these those there here what which who whom whose when where why how can could
would should will shall may might must get got getting please hi hello hey thanks thank just also any some
way process steps step possible need want like tell know let make one ok okay all each every per
с в во на по к ко о об от до из у за для и а но или ли как что где когда почему зачем кто какой какая какие
мне меня мой моя мои я мы нам наш вы вам ваш он она оно они его её ее их это этот эта эти то там тут
можно нужно надо ли же бы ведь пожалуйста
""".split())
FOLLOWUP_START = re.compile(
    r"^\s*(and|but|also|so|or|then|what about|how about|what if|same|ok so|и|а|но|тогда|а если|а как|также|тоже)\b",
    re.IGNORECASE,
)
REFERRING = frozenset({
    "it", "its", "that", "this", "those", "these", "they", "them", "their", "he", "she", "him", "her",
    "there", "same", "above", "previous", "earlier", "again", "else", "instead", "former", "latter",
    "это", "этот", "эта", "эти", "этого", "этом", "он", "она", "оно", "они", "его", "её", "ее", "их", "там",
    "тоже", "также", "ещё", "еще", "тот", "та", "те", "такой",
})


def words(text: str) -> list[str]:
    """Lower-cased words; apostrophes dropped so "can't" -> "cant"; placeholders kept whole."""
    out = []
    for match in WORD.finditer(text):
        token = match.group(0)
        out.append(token if token.startswith("<") else token.lower().replace("'", ""))
    return out


def _stem(word: str) -> str:
    """A crude English stem so "reports"/"report", "installing"/"install" compare equal."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.isascii() and len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class QuestionShape:
    negated: bool
    anchors: frozenset[str]  # numbers, ids, placeholders: must match exactly
    content: frozenset[str]  # stemmed content words

    @classmethod
    def of(cls, text: str) -> QuestionShape:
        tokens = words(text)
        negated = any(t in NEGATIONS for t in tokens)
        anchors = frozenset(t for t in tokens if PLACEHOLDER.fullmatch(t) or any(c.isdigit() for c in t))
        content = frozenset(
            _stem(t) for t in tokens if t not in STOPWORDS and t not in NEGATIONS and t not in anchors
        )
        return cls(negated=negated, anchors=anchors, content=content)


@dataclass(frozen=True)
class MatchRules:
    threshold: float
    short_words: int = 3
    short_margin: float = 0.03
    substitution_margin: float = 0.03

    def required(self, query: QuestionShape, stored: QuestionShape) -> float | None:
        """The similarity this pair needs for a hit, or None when it can never be one."""
        if query.negated != stored.negated or query.anchors != stored.anchors:
            return None
        need = self.threshold
        if min(len(query.content), len(stored.content)) <= self.short_words:
            need += self.short_margin
        if query.content - stored.content and stored.content - query.content:
            need += self.substitution_margin
        return min(need, 1.0)

    def accepts(self, similarity: float, query: QuestionShape, stored: QuestionShape) -> bool:
        need = self.required(query, stored)
        return need is not None and similarity >= need


PUNCTUATION = re.compile(r"[^\w<>]+", re.UNICODE)


def normalize(text: str) -> str:
    """The exact-repeat key: case folded, punctuation dropped, whitespace collapsed (nothing else)."""
    return " ".join(PUNCTUATION.sub(" ", text.casefold()).split())


def looks_like_followup(text: str) -> bool:
    """True when a question probably depends on earlier messages ("and on Mac?", "how do I reset it?")."""
    if FOLLOWUP_START.match(text):
        return True
    tokens = words(text)
    if any(t in REFERRING for t in tokens):
        return True
    content = [t for t in tokens if t not in STOPWORDS and t not in NEGATIONS]
    return len(content) < 2


def placeholder_reason(text: str, followup: bool, verifier: bool) -> str | None:
    """Why a question holding placeholders must not be looked up: placeholders are numbered per conversation,
    so one is served only when the question stands alone (the model then knew nothing about the person but
    the placeholder) and a verifier judges it; the anchors rule demands the very same placeholders."""
    if PLACEHOLDER.search(text) and (followup or not verifier):
        return "personal_data"
    return None
