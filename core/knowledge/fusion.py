"""How the ranked lists of one search are fused (core/knowledge/search.py): weighted Reciprocal Rank Fusion of the
vector list, the keyword lists (the question's own words, its Latin-letter reading, the cross-lingual bridge) and
a keyword list over the chunks' headings only (page title and section path), then document-level agreement.

- **Headings** (`heading_weight`): a page's title and section names are its most precise words ("pg_dump",
  "Continuous Archiving and Point-in-Time Recovery"); in the chunk's BM25 text they are a handful of words among
  ~180, so a question naming the topic of a page does not outscore a long chunk of another page that repeats the
  word. A second BM25 index over the headings alone is one more ranked list.
- **Document agreement** (`document_weight`): several chunks of one page in the fused list are evidence that the page
  is about the question; each chunk gains that share of the fused score of its page's other best chunks
  (at most `document_chunks` of them), so one stray matching chunk of an unrelated page ranks below a page whose
  several passages match.

Chosen on the implementer's own tuning questions (see docs/knowledge.md, "Fusion tuning"), never on held-out ones.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class Fused(Protocol):
    collection: str
    meta: dict[str, Any]
    id: str
    rrf: float


@dataclass
class Fusion:
    vector_weight: float = 1.0  # the vector list's votes in the RRF sum
    keyword_weight: float = 1.0  # each keyword list's votes (question words, reading, bridge)
    heading_weight: float = 0.0  # the keyword list over headings only (0 = not searched)
    document_weight: float = 0.0  # share of the page's other best chunks' fused score added to a chunk
    document_chunks: int = 3  # how many of a page's chunks count towards its agreement


def document_key(c: Fused) -> tuple[str, str]:
    return c.collection, str(c.meta.get("url") or c.meta.get("source") or c.id)


def agree(candidates: Iterable[Fused], weight: float, chunks: int) -> None:
    """Add to each candidate's fused score `weight` x the fused scores of its document's other best chunks."""
    if weight <= 0:
        return
    by_doc: dict[tuple[str, str], list[Fused]] = defaultdict(list)
    for c in candidates:
        by_doc[document_key(c)].append(c)
    for group in by_doc.values():
        if len(group) < 2:
            continue
        best = sorted((c.rrf for c in group), reverse=True)[:chunks]
        total = sum(best)
        for c in group:
            # the other best chunks: all of them when this one is not among them, else the rest
            others = total - c.rrf if c.rrf >= best[-1] else sum(best[: chunks - 1])
            c.rrf += weight * others
