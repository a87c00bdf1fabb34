"""The knowledge-gap report: questions the knowledge base could not answer well, grouped by meaning.

A question is a gap when the bot abstained (nothing reliable found), answered with low evidence (just
above the gate's floor), its answer got a thumbs-down, or the customer then asked for a person. Gaps are
reported per tenant, bot and collections; within one, questions are grouped by meaning: each question's
search query is embedded (the knowledge base's own embedder) and joins the group whose mean vector is
closest, if at least SIMILAR (cosine), else starts a new group. A group shows how often it was asked, why
it is a gap, a few masked examples and the document that came closest. Questions whose text was not kept
(masking was off) are counted, never shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.knowledge.embeddings import Embedder
from core.knowledge.gaps import Asked

# Cosine to a group's mean vector for a question to join it. With the local model, on our own examples
# (tests/test_knowledge_gaps.py and a few more), paraphrases scored 0.64-0.84, also across English and
# Russian; unrelated questions (parking vs pets vs football) at most 0.40.
SIMILAR = 0.6
REASONS = ("abstained", "low_evidence", "thumbs_down", "escalated")
EXAMPLE_CHARS = 200


@dataclass
class Gap:
    """Questions of one meaning: how many, why, examples, the closest document."""

    questions: list[Asked] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    closest: Counter[tuple[str, str]] = field(default_factory=Counter)  # (title, source) -> times it was top
    hidden: int = 0  # questions counted whose text was not kept

    @property
    def count(self) -> int:
        return len(self.questions) + self.hidden

    def examples(self, limit: int = 3) -> list[str]:
        """Distinct masked questions, each on one line and at most EXAMPLE_CHARS long."""
        lines = (" ".join(a.question.split()) for a in self.questions if a.question)
        short = (q if len(q) <= EXAMPLE_CHARS else q[:EXAMPLE_CHARS - 1] + "…" for q in lines)
        return list(dict.fromkeys(short))[:limit]

    @property
    def closest_document(self) -> tuple[str, str] | None:
        return self.closest.most_common(1)[0][0] if self.closest else None


@dataclass
class GapGroup:
    tenant: str
    bot: str
    collections: tuple[str, ...]
    gaps: list[Gap] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(g.count for g in self.gaps)


def reasons_of(asked: Asked, thumbs_down: Collection[str]) -> list[str]:
    found = []
    if asked.abstained:
        found.append("abstained")
    if asked.low_evidence:
        found.append("low_evidence")
    if asked.reply_id in thumbs_down:
        found.append("thumbs_down")
    if asked.escalated:
        found.append("escalated")
    return found


@dataclass
class _Building:
    group: GapGroup
    sums: list[np.ndarray] = field(default_factory=list)  # per text gap, the sum of its unit vectors
    texts: list[Gap] = field(default_factory=list)
    hidden: Gap | None = None


async def gap_report(asked: Sequence[Asked], thumbs_down: Collection[str], embedder: Embedder,
                     similar: float = SIMILAR) -> list[GapGroup]:
    """Group the gaps among `asked` (those abstained on, low evidence, or with a reply id in `thumbs_down`)."""
    building: dict[tuple[str, str, tuple[str, ...]], _Building] = {}
    gaps = [(a, reasons_of(a, thumbs_down)) for a in asked]
    gaps = [(a, r) for a, r in gaps if r]
    texts = [a.query or a.question for a, _ in gaps if a.query or a.question]
    vectors = iter(_unit(await embedder.embed(texts)) if texts else [])
    for item, reasons in gaps:
        b = building.setdefault((item.tenant, item.bot, item.collections),
                                _Building(GapGroup(item.tenant, item.bot, item.collections)))
        if not (item.query or item.question):
            gap = b.hidden = b.hidden or Gap()
            gap.hidden += 1
        else:
            vector = next(vectors)
            scores = [float(vector @ total / (np.linalg.norm(total) or 1.0)) for total in b.sums]
            best = int(np.argmax(scores)) if scores else -1
            if best >= 0 and scores[best] >= similar:
                gap = b.texts[best]
                b.sums[best] = b.sums[best] + vector
            else:
                gap = Gap()
                b.texts.append(gap)
                b.sums.append(vector.copy())
            gap.questions.append(item)
        gap.reasons.update(reasons)
        if item.closest_source:
            gap.closest[(item.closest_title, item.closest_source)] += 1
    out = []
    for b in building.values():
        b.group.gaps = sorted(b.texts, key=lambda g: (-g.count, g.questions[0].at)) + ([b.hidden] if b.hidden else [])
        out.append(b.group)
    return sorted(out, key=lambda g: (g.tenant, g.bot, g.collections))


def _unit(vectors: list[list[float]]) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
