"""The evidence gate: are the best passages good enough to answer from?

Confidence is the cosine similarity of the best passage to the query (the passage's `score`), raised to
1.0 when the query names an identifier (an error code, a ticket id) that the passage contains. Below
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

MIN_CONFIDENCE = 0.32
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
    best = max(p.score for p in passages)
    wanted = identifiers(query)
    if wanted and any(wanted & identifiers(f"{p.title} {p.section} {p.text}") for p in passages):
        return 1.0
    return round(float(best), 4)


def gated(query: str) -> bool:
    """Whether this message is a knowledge question the gate applies to (not small talk, not a request
    for a ticket or a person)."""
    return len(_WORD.findall(query)) >= MIN_WORDS and not _ACTION.search(query)
