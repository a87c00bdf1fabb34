"""The evidence gate: are the best passages good enough to answer from?

Confidence is, over the best three passages, the highest cosine similarity to the query (the passage's
`score`) plus COVERAGE_WEIGHT x the share of the query's content words the passage holds (so "hotel limit per
night in London" is confident on the passage that says exactly that, even at a modest cosine); it is 1.0 when
the query names an identifier (an error code, a ticket id: letters with digits or an underscore, not a bare
number such as a year) that a passage contains; it loses UNKNOWN_PENALTY when the query has a word no document
of the collections contains (search.py `unknown_terms`: a product the KB never mentions). Below
`MIN_CONFIDENCE` the bot does not ask the model to answer from weak passages: it says it found nothing
reliable, shows the closest sources and offers a ticket or a person (the retrieval stage does that).

MIN_CONFIDENCE was calibrated on our own golden set (tests/data/golden_sample_kb.jsonl, over the sample
KB; `deskmate eval --calibrate` prints the sweep), never on the held-out sets: the value that keeps every
answerable question of that set answered while abstaining on as many unanswerable ones as possible.
UNKNOWN_PENALTY (0.2) was chosen on our tuning sets (bench/bench_heldout.py --set tuning: postgresql-doc pages
outside the held-out subset; abstention precision 0.29 -> 0.50, recall 0.33 -> 0.83 there; 0.1 gave recall
0.50, 0.3 the same as 0.2), again not on the held-out sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from core.knowledge.embed_fused import FUSED_MODEL_ID
from core.knowledge.keyword import identifiers
from core.models import Passage

MIN_CONFIDENCE = 0.31
# The fused local model (embeddings.local_model = "use+e5") scores on another scale: its floor, calibrated the same
# way on the same golden set (`DESKMATE_EMBEDDINGS__LOCAL_MODEL=use+e5 deskmate eval --calibrate`), is lower.
CALIBRATED = {FUSED_MODEL_ID: 0.24}
COVERAGE_WEIGHT = 0.25
UNKNOWN_PENALTY = 0.2
_DIGIT = re.compile(r"\d")
_ALPHA = re.compile(r"[a-z]")
CONSIDERED = 3  # passages the confidence looks at
CLOSEST_SOURCES = 3

# Asking for a ticket or a person is an action, not a knowledge question: never gated.
_ACTION = re.compile(
    r"\b(ticket|tickets|escalat\w*|human|person|agent|operator|someone|тикет\w*|заявк\w*|обращени\w*|"
    r"человек\w*|оператор\w*|специалист\w*|сотрудник\w*|эскалир\w*)\b", re.IGNORECASE | re.UNICODE)
_WORD = re.compile(r"\w+", re.UNICODE)
MIN_WORDS = 3  # "hi", "thanks!": small talk, not a question the knowledge base should answer


def gate_floor(model_id: str) -> float:
    """MIN_CONFIDENCE, or the floor calibrated for this embedding model."""
    return CALIBRATED.get(model_id, MIN_CONFIDENCE)


def codes(text: str) -> set[str]:
    """Identifiers that name one thing: letters with digits (ERR-4031, v15) or with an underscore (pg_dump).
    A bare number ("1", "1954") or a hyphenated word ("write-ahead") is not one."""
    return {t for t in identifiers(text) if "_" in t or (_DIGIT.search(t) and _ALPHA.search(t))}


def confidence(query: str, passages: Sequence[Passage], unknown: Sequence[str] = (),
               translated: Mapping[str, Iterable[str]] | None = None) -> float:
    """`unknown`: the query's words that no document of the searched collections contains (a product or a
    name the knowledge base never mentions: "MySQL", "MongoDB"); any of them costs UNKNOWN_PENALTY.
    `translated`: the query's words in the documents' other language (core/knowledge/bridge.py): a Russian word
    counts as covered by a passage holding one of its English translations."""
    if not passages:
        return 0.0
    wanted = codes(query)
    if wanted and any(wanted & codes(f"{p.title} {p.section} {p.text}") for p in passages):
        return 1.0
    best = max(p.score + COVERAGE_WEIGHT * coverage(query, p, translated) for p in passages[:CONSIDERED])
    if unknown:
        best -= UNKNOWN_PENALTY
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
    found = _WORD.findall(text.lower().replace("ё", "е"))
    return {w[:5] for w in found if len(w) > 2 and w not in _STOP and not w.isdigit()}


def coverage(query: str, passage: Passage, translated: Mapping[str, Iterable[str]] | None = None) -> float:
    """Share of the query's content words (first five letters) that the passage (with its headings) holds, itself
    or (`translated`) as one of its translations."""
    wanted = _terms(query)
    if not wanted:
        return 0.0
    have = _terms(f"{passage.title} {passage.section} {passage.text}")
    alternatives: dict[str, set[str]] = {}
    for word, targets in (translated or {}).items():
        alternatives.setdefault(word.lower().replace("ё", "е")[:5], set()).update(_terms(" ".join(targets)))
    return sum(1 for w in wanted if w in have or alternatives.get(w, set()) & have) / len(wanted)
