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

MAX_SCORED = 500  # stored questions scored per lookup at most (the ones sharing the query's rarer words)


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

    def score(self, query: frozenset[str], entry_id: int, idf: dict[str, float] | None = None) -> float:
        """Weighted Jaccard overlap of `query` with one stored entry (0 when unknown)."""
        doc = self._docs.get(entry_id)
        if not doc or not query:
            return 0.0
        weights = {} if idf is None else idf
        shared = doc & query
        if not shared:
            return 0.0

        def weight(word: str) -> float:
            found = weights.get(word)
            if found is None:
                found = weights[word] = self._idf(word)
            return found

        return sum(map(weight, shared)) / sum(map(weight, doc | query))

    def search(self, query: frozenset[str], floor: float, limit: int) -> list[tuple[int, float]]:
        """Entries whose overlap with `query` is at least `floor`, best first, at most `limit`."""
        ids: set[int] = set()
        for word in sorted(query, key=lambda w: len(self._postings.get(w, ()))):  # rarest words first
            posting = self._postings.get(word, set())
            if len(ids) + len(posting) > MAX_SCORED:
                break  # words this common add little weight: bounded work per lookup, however big the scope
            ids |= posting
        idf: dict[str, float] = {}
        scored = [(i, self.score(query, i, idf)) for i in ids]
        scored = [(i, s) for i, s in scored if s >= floor]
        scored.sort(key=lambda item: item[1], reverse=True)
        return scored[:limit]
