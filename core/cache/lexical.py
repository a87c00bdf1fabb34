"""The cache's second candidate source: stemmed content words shared with a scope's stored questions.

An embedder scores many paraphrases under the candidate floor ("When is payday?" / "On which date do salaries
get paid?"), while near misses often score above it; a floor alone cannot serve both. So a stored question
is also a candidate when it shares enough weighted content words with the new one: Snowball stems by script
(`core.knowledge.keyword.tokenize`, English and Russian, stop words dropped), placeholders ignored (they are
anchors, checked apart), each word weighted by its inverse document frequency in the scope. The score is the
weighted Jaccard overlap of the two sets (1.0 = the same content words). Being a candidate never makes a hit:
the rules of `core/cache/match.py` still apply, and the verifier decides.

Not safe for concurrent use: like the rest of a scope store it lives on the cache's single worker thread.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from core.cache.match import PLACEHOLDER
from core.knowledge.keyword import tokenize


def terms(text: str) -> frozenset[str]:
    """The stemmed content words of a question (placeholders and stop words dropped)."""
    return frozenset(tokenize(PLACEHOLDER.sub(" ", text)))


class LexicalIndex:
    """Inverted index: stem -> entry ids, with each entry's stem set, for one scope."""

    def __init__(self) -> None:
        self._docs: dict[int, frozenset[str]] = {}
        self._postings: defaultdict[str, set[int]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, entry_id: int, text: str) -> None:
        self.remove([entry_id])
        words = terms(text)
        self._docs[entry_id] = words
        for word in words:
            self._postings[word].add(entry_id)

    def remove(self, ids: Iterable[int]) -> None:
        for entry_id in ids:
            words = self._docs.pop(int(entry_id), None)
            for word in words or ():
                posting = self._postings.get(word)
                if posting is not None:
                    posting.discard(int(entry_id))
                    if not posting:
                        del self._postings[word]

    def _idf(self, word: str) -> float:
        df = len(self._postings.get(word, ()))
        return math.log(1.0 + (len(self._docs) + 1) / (df + 1))

    def score(self, query: frozenset[str], entry_id: int) -> float:
        """Weighted Jaccard overlap of `query` with one stored entry (0 when unknown)."""
        doc = self._docs.get(entry_id)
        if not doc or not query:
            return 0.0
        shared = sum(self._idf(w) for w in query & doc)
        if not shared:
            return 0.0
        return shared / sum(self._idf(w) for w in query | doc)

    def search(self, query: frozenset[str], floor: float, limit: int) -> list[tuple[int, float]]:
        """Entries whose overlap with `query` is at least `floor`, best first, at most `limit`."""
        ids = set().union(*(self._postings.get(w, set()) for w in query)) if query else set()
        scored = [(i, self.score(query, i)) for i in ids]
        scored = [(i, s) for i, s in scored if s >= floor]
        scored.sort(key=lambda item: item[1], reverse=True)
        return scored[:limit]
