"""The evidence gate: are the best passages good enough to answer from?

Confidence is, over the best three passages, the highest cosine similarity to the query (the passage's
`score`) plus COVERAGE_WEIGHT x the share of the query's content words the passage holds (so "hotel limit per
night in London" is confident on the passage that says exactly that, even at a modest cosine); it is 1.0 when
the query names an identifier (an error code, a ticket id) that a passage contains. Below
`MIN_CONFIDENCE` the bot does not ask the model to answer from weak passages: it says it found nothing
reliable, shows the closest sources and offers a ticket or a person (the retrieval stage does that).

MIN_CONFIDENCE was calibrated on our own golden set (tests/data/golden_sample_kb.jsonl, over the sample
KB; `deskmate eval --calibrate` prints the sweep), never on the held-out sets: the value that keeps every
answerable question of that set answered while abstaining on as many unanswerable ones as possible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.knowledge.keyword import identifiers
from core.models import Passage

MIN_CONFIDENCE = 0.31
COVERAGE_WEIGHT = 0.25
CONSIDERED = 3  # passages the confidence looks at
CLOSEST_SOURCES = 3

# Asking for a ticket or a person is an action, not a knowledge question: never gated.
_ACTION = re.compile(
    r"\b(ticket|tickets|escalat\w*|human|person|agent|operator|someone|тикет\w*|заявк\w*|обращени\w*|"
    r"человек\w*|оператор\w*|специалист\w*|сотрудник\w*|эскалир\w*)\b", re.IGNORECASE | re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
MIN_WORDS = 3  # "hi", "thanks!": small talk, not a question the knowledge base should answer


def confidence(query: str, passages: Sequence[Passage]) -> float:
    if not passages:
        return 0.0
    wanted = identifiers(query)
    if wanted and any(wanted & identifiers(f"{p.title} {p.section} {p.text}") for p in passages):
        return 1.0
    best = max(p.score + COVERAGE_WEIGHT * coverage(query, p) for p in passages[:CONSIDERED])
    return round(float(best), 4)


def gated(query: str) -> bool:
    """Whether this message is a knowledge question the gate applies to (not small talk, not a request
    for a ticket or a person)."""
    return len(_WORD.findall(query)) >= MIN_WORDS and not _ACTION.search(query)


_STOP = frozenset(
    "a an the and or of to in on for at by with from is are was were be been do does did i my me we our you your "
    "it its this that these those how what when where which who why can could should would will may must there "
    "have has had not no yes if then so as about into any all just get got need want per".split())


def _terms(text: str) -> set[str]:
    return {w[:5] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP and not w.isdigit()}


def coverage(query: str, passage: Passage) -> float:
    """Share of the query's content words (first five letters) that the passage (with its headings) holds."""
    wanted = _terms(query)
    if not wanted:
        return 0.0
    have = _terms(f"{passage.title} {passage.section} {passage.text}")
    return len(wanted & have) / len(wanted)
