"""BM25 keyword search over one collection's chunks (rank-bm25 statistics, vectorized scoring).

rank-bm25's `get_scores` loops in Python over every document for each query term (~10 ms per term
at 100k chunks), so the per-document BM25 weights it defines are precomputed once into a sparse
term x chunk matrix; a query is then the sum of a few matrix rows. Identifiers such as `ERR-4031` or
`DM-PRO-200` are kept as one token (and also split into parts), so exact codes match exactly.

Words are reduced to their Snowball stem (PyStemmer) by script, so one text may mix languages: Cyrillic
words with the Russian stemmer («возврата» and «возврат» -> «возврат»), other words with the English one
("refunds" -> "refund"); each language drops its own stop words (`core/knowledge/stopwords.py`). The index
and the query go through the same `tokenize`, so they always agree.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.knowledge.stopwords import EN, RU

_WORD = re.compile(r"[^\W_]+(?:[-_./][^\W_]+)*")
_CODE = re.compile(r"[a-z0-9]+(?:[-_./][a-z0-9]+)*")
_SEP = re.compile(r"[-_./]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_STOP = EN | RU
_local = threading.local()  # PyStemmer objects are not thread-safe: one pair (and one memo) per thread
STEM_MEMO = 50_000  # distinct words remembered per thread (~5 MB): a corpus repeats its vocabulary


def _state() -> tuple[Any, Any, dict[str, str]]:
    state = getattr(_local, "state", None)
    if state is None:
        import Stemmer

        state = _local.state = (Stemmer.Stemmer("english"), Stemmer.Stemmer("russian"), {})
    return state


def _stem(words: list[str]) -> list[str]:
    """Snowball stems, by script; words with digits (versions, codes) stay as they are."""
    english, russian, memo = _state()
    new = [w for w in dict.fromkeys(words) if w not in memo]
    if new:
        if len(memo) + len(new) > STEM_MEMO:
            memo.clear()
        ru = [w for w in new if _CYRILLIC.search(w)]
        en = [w for w in new if w.isalpha() and not _CYRILLIC.search(w)]
        memo.update(zip(ru, russian.stemWords(ru), strict=True))
        memo.update(zip(en, english.stemWords(en), strict=True))
        memo.update((w, w) for w in new if w not in memo)
    get = memo.get
    return [get(w, w) for w in words]


def stems(words: list[str]) -> list[str]:
    """The index's terms for these (lower-case) words: their Snowball stems by script."""
    return _stem(list(words))


def stop_word(word: str) -> bool:
    return word in _STOP


def tokenize(text: str) -> list[str]:
    """Stemmed words minus stop words; a compound (`ERR-4031`, `pg_dump`) is kept whole and its parts added.

    The order of tokens is irrelevant to BM25 (a bag of words), so the parts go after the words.
    """
    words = [w for w in _WORD.findall(text.lower().replace("ё", "е")) if w not in _STOP]
    compounds = [w for w in words if not w.isalnum()]
    if not compounds:
        return _stem(words)
    parts = [p for w in compounds for p in _SEP.split(w) if p and p not in _STOP]
    return _stem([w for w in words if w.isalnum()]) + compounds + _stem(parts)


def identifiers(text: str) -> set[str]:
    """Tokens that look like codes (letters and digits, or dashed): these demand an exact match."""
    return {t for t in _CODE.findall(text.lower()) if re.search(r"\d", t) or re.search(r"[a-z][-_][a-z0-9]", t)}


class KeywordIndex:
    """An immutable BM25 index of (id, text, metadata) rows; rebuilt when the collection changes."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]],
                 k1: float = 1.5, b: float = 0.75) -> None:
        from rank_bm25 import BM25Okapi
        from scipy.sparse import csr_matrix

        self.ids = list(ids)
        self.metadatas = list(metadatas)
        self.position = {cid: i for i, cid in enumerate(self.ids)}
        self.vocab: dict[str, int] = {}
        self._columns: dict[str, tuple[np.ndarray, dict[Any, int]]] = {}
        self._numeric: dict[str, np.ndarray] = {}
        self.texts = list(texts)
        n = len(self.ids)
        if n == 0:
            self.matrix = None
            return
        corpus = [tokenize(t) or ["\x00"] for t in texts]
        bm25 = BM25Okapi(corpus, k1=k1, b=b)  # document frequencies, idf (with its floor) and lengths
        self.vocab = {term: i for i, term in enumerate(bm25.idf)}
        idf = np.fromiter(bm25.idf.values(), dtype=np.float64, count=len(self.vocab))
        term_ids: list[int] = []
        tfs: list[int] = []
        per_doc: list[int] = []
        lookup = self.vocab.__getitem__
        for freqs in bm25.doc_freqs:  # C-level extends: one Python step per document, not per term
            term_ids.extend(map(lookup, freqs))
            tfs.extend(freqs.values())
            per_doc.append(len(freqs))
        rows = np.asarray(term_ids, dtype=np.int64)
        tf = np.asarray(tfs, dtype=np.float64)
        cols = np.repeat(np.arange(n, dtype=np.int64), per_doc)
        doc_len = np.asarray(bm25.doc_len, dtype=np.float64)[cols]
        norm = k1 * (1 - b + b * doc_len / (bm25.avgdl or 1.0))
        vals = idf[rows] * tf * (k1 + 1) / (tf + norm)
        self.matrix = csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(len(self.vocab), n))

    def __len__(self) -> int:
        return len(self.ids)

    def _codes(self, name: str) -> tuple[np.ndarray, dict[Any, int]]:
        """A metadata field as integer codes (cached), so filters are fast array comparisons."""
        entry = self._columns.get(name)
        if entry is None:
            mapping: dict[Any, int] = {}
            codes = np.fromiter((mapping.setdefault(m.get(name), len(mapping)) for m in self.metadatas),
                                dtype=np.int32, count=len(self.metadatas))
            entry = (codes, mapping)
            self._columns[name] = entry
        return entry

    def mask_in(self, name: str, values: Sequence[Any]) -> np.ndarray:
        """Rows whose metadata `name` is one of `values`."""
        codes, mapping = self._codes(name)
        table = np.zeros(len(mapping), dtype=bool)  # per distinct value: wanted or not; then one gather
        table[[mapping[v] for v in values if v in mapping]] = True
        return table[codes]

    def mask_at_least(self, name: str, value: float) -> np.ndarray:
        col = self._numeric.get(name)
        if col is None:
            col = np.asarray([float(m.get(name) or 0.0) for m in self.metadatas], dtype=np.float64)
            self._numeric[name] = col
        return col >= value

    def search(self, query: str, limit: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The best `limit` (id, bm25 score) pairs with a positive score among rows where `mask` is true."""
        return self.search_terms(dict.fromkeys(tokenize(query), 1.0), limit, mask)

    def search_terms(self, terms: dict[str, float], limit: int, mask: np.ndarray | None = None
                     ) -> list[tuple[str, float]]:
        """Like `search`, for index terms each with a weight (a term's BM25 score counts that many times)."""
        if self.matrix is None:
            return []
        weights: dict[int, float] = {}
        for t, w in terms.items():
            if t in self.vocab:
                weights[self.vocab[t]] = max(weights.get(self.vocab[t], 0.0), w)
        if not weights:
            return []
        term_ids = sorted(weights)
        row = np.asarray([weights[i] for i in term_ids], dtype=np.float32)
        scores = np.asarray(row @ self.matrix[term_ids]).ravel()
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return []
        if positive.size > limit:
            top = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
        else:
            top = positive
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top]
