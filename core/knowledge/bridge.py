"""Cross-lingual keyword bridge: a Russian question's words matched to the English words of the documents (and an
English question's to the Russian ones), so keyword search helps a question asked in the other language.

Keyword search (BM25) alone cannot match «таблицу» to "table": the scripts differ, and a Russian question over
English pages got nothing from it (only the multilingual vector search, whose cross-lingual similarities are weaker
than same-language ones). The bridge uses the same multilingual embedder as a bilingual dictionary: every word of a
collection's vocabulary is embedded once, when the collection's keyword index is (re)built; at query time the
question's words are embedded (one small batch) and each is translated to the nearest vocabulary words written in
the other script, when they are close enough (MIN_SIMILARITY). The translations, weighted by their similarity, form
a keyword query of their own: one more ranked list in the fusion (core/knowledge/search.py).

Only the question and the collection's own words are embedded, by the configured embedder; nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import structlog

from core.knowledge.embeddings import MEMO_MAX_BATCH, Embedder
from core.knowledge.keyword import stems, stop_word, tokenize

log = structlog.get_logger("deskmate.knowledge")

_WORD = re.compile(r"[^\W\d_]{3,}")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
MIN_SIMILARITY = 0.62  # a translation closer than this to the question's word (single-word cosine) is used
SECOND_WITHIN = 0.05  # a second translation when it is this close to the best one ("table" / "tables")
MAX_VOCABULARY = 20_000  # most frequent words of a collection embedded (~0.8 ms a word with the local model)
MIN_DOCUMENT_FREQUENCY = 2  # words in fewer chunks are not worth embedding (names, typos) ...
SMALL_COLLECTION = 500  # ... unless the collection is small
QUESTION_WORDS = 12  # question words translated (in small batches, through the embedder's memo)


def script(word: str) -> str:
    return "ru" if _CYRILLIC.search(word) else "en"


def words(text: str) -> list[str]:
    """Content words of a text: letters only, 3+ long, not stop words, lower case, ё as е."""
    return [w for w in _WORD.findall(text.lower().replace("ё", "е")) if not stop_word(w)]


@dataclass(frozen=True)
class Translation:
    word: str  # the question's word
    stem: str  # the keyword index's term it is translated to
    target: str  # the vocabulary word (its most frequent surface form)
    similarity: float


class Bridge:
    """A collection's vocabulary (one surface word per stem) with its embeddings, split by script."""

    def __init__(self, surface: Sequence[str], term: Sequence[str], vectors: np.ndarray) -> None:
        self.surface = list(surface)
        self.term = list(term)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(vectors) else np.ones((0, 1))
        self.vectors = (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        self.scripts = np.asarray([script(w) for w in self.surface])

    def __len__(self) -> int:
        return len(self.surface)

    @staticmethod
    def vocabulary(texts: Sequence[str]) -> tuple[list[str], list[str]]:
        """(surface word, stem) of the words worth embedding: the most frequent surface form of each stem, stems in
        at least MIN_DOCUMENT_FREQUENCY chunks (any, in a small collection), at most MAX_VOCABULARY."""
        df: Counter[str] = Counter()
        forms: Counter[tuple[str, str]] = Counter()
        for text in texts:
            found = words(text)
            pairs = set(zip(stems(found), found, strict=True))
            df.update({s for s, _ in pairs})
            forms.update(pairs)
        floor = 1 if len(texts) < SMALL_COLLECTION else MIN_DOCUMENT_FREQUENCY
        best: dict[str, tuple[int, str]] = {}
        for (stem, form), n in forms.items():
            if n > best.get(stem, (0, ""))[0]:
                best[stem] = (n, form)
        kept = [s for s, n in df.most_common() if n >= floor][:MAX_VOCABULARY]
        return [best[s][1] for s in kept], kept

    @classmethod
    async def build(cls, texts: Sequence[str],
                    embed: Callable[[list[str]], Awaitable[list[list[float]]]]) -> Bridge:
        surface, term = cls.vocabulary(texts)
        vectors = np.asarray(await embed(surface), dtype=np.float32) if surface else np.zeros((0, 1), np.float32)
        return cls(surface, term, vectors.reshape(len(surface), -1) if surface else vectors)

    def translate(self, query_words: Sequence[str], vectors: Sequence[Sequence[float]]) -> list[Translation]:
        """Each query word's nearest vocabulary words in the other script (at most two, above MIN_SIMILARITY)."""
        if not len(self) or not query_words:
            return []
        q = np.asarray(vectors, dtype=np.float32)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-9)
        sims = q @ self.vectors.T
        out: list[Translation] = []
        for i, word in enumerate(query_words):
            row = np.where(self.scripts != script(word), sims[i], -1.0)
            top = np.argsort(-row)[:2]
            best = float(row[top[0]])
            for j in top:
                sim = float(row[j])
                if sim >= MIN_SIMILARITY and sim >= best - SECOND_WITHIN:
                    out.append(Translation(word, self.term[j], self.surface[j], round(sim, 4)))
        return out


class Bridges:
    """Each collection's bridge (rebuilt when the collection's version changes) and the question side: its words
    embedded (small batches, so the embedder's memo keeps frequent words) and translated."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._built: dict[str, tuple[int, Bridge]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def clear(self) -> None:
        self._built.clear()

    async def get(self, collection: str, version: int, texts: Callable[[], Sequence[str]]) -> Bridge:
        cached = self._built.get(collection)
        if cached and cached[0] == version:
            return cached[1]
        async with self._locks.setdefault(collection, asyncio.Lock()):
            cached = self._built.get(collection)
            if cached and cached[0] == version:
                return cached[1]
            started = time.perf_counter()
            bridge = await Bridge.build(texts(), self.embedder.embed)
            self._built[collection] = (version, bridge)
            log.info("keyword_bridge_built", collection=collection, words=len(bridge),
                     seconds=round(time.perf_counter() - started, 3))
            return bridge

    async def _translate(self, query: str, bridge: Bridge, vocab: Mapping[str, int]
                         ) -> tuple[list[Translation], str]:
        """The question's words the collection does not hold (a word it holds needs no translation: "warranty"
        asked over a page saying "warranty" is not also looked up in the Russian pages), translated."""
        found = list(dict.fromkeys(words(query)))[:QUESTION_WORDS]
        home = "en" if sum(1 for w in found if script(w) == "en") * 2 > len(found) else "ru"
        found = [w for w, s in zip(found, stems(found), strict=True) if s not in vocab]
        if not found or not len(bridge):
            return [], home
        vectors: list[list[float]] = []
        for start in range(0, len(found), MEMO_MAX_BATCH):
            vectors.extend(await self.embedder.embed(found[start:start + MEMO_MAX_BATCH]))
        return bridge.translate(found, vectors), home

    async def terms(self, query: str, vocab: Mapping[str, int], bridge: Bridge) -> dict[str, float]:
        """The question as a keyword query in the documents' other script: its words translated (weighted by their
        similarity) with its own words already in that script (codes, product names). Empty when none translate."""
        translated, home = await self._translate(query, bridge, vocab)
        if not translated:
            return {}
        terms = {t: 1.0 for t in tokenize(query) if script(t) != home and t in vocab}
        for tr in translated:
            terms[tr.stem] = max(terms.get(tr.stem, 0.0), tr.similarity)
        return terms

    async def translations(self, query: str, bridges: Sequence[tuple[Bridge, Mapping[str, int]]]
                           ) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for bridge, vocab in bridges:
            for tr in (await self._translate(query, bridge, vocab))[0]:
                out.setdefault(tr.word, set()).add(tr.target)
        return out
