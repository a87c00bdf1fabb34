"""Measure the cache's matching on a labelled set of (stored question, new question, should-hit) pairs.

Each pair gets its own scope, so a query can only hit its own pair's stored question; pairs of kind
"tenant" are queried from another tenant and must always miss. Used by the tests and bench/bench_cache.py.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.cache.settings import CacheSettings
from core.cache.store import Entry, Scope, ScopeStore
from core.knowledge.embeddings import Embedder


@dataclass(frozen=True)
class Pair:
    kind: str
    expect_hit: bool
    stored: str
    query: str


@dataclass
class PairReport:
    threshold: float
    true_hits: int = 0
    false_hits: int = 0
    should_hit: int = 0
    wrong: list[Pair] = field(default_factory=list)

    @property
    def precision(self) -> float:
        hits = self.true_hits + self.false_hits
        return self.true_hits / hits if hits else 1.0

    @property
    def hit_rate(self) -> float:
        return self.true_hits / self.should_hit if self.should_hit else 0.0


def load_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8", newline="") as f:
        return [Pair(r["kind"], r["expect"] == "hit", r["stored"], r["query"]) for r in csv.DictReader(f)]


async def evaluate_pairs(pairs: list[Pair], embedder: Embedder, settings: CacheSettings) -> PairReport:
    stored_vectors = await embedder.embed([p.stored for p in pairs])
    query_vectors = await embedder.embed([p.query for p in pairs])
    from core.cache.match import MatchRules

    rules = MatchRules(settings.threshold, settings.short_words, settings.short_margin, settings.substitution_margin)
    report = PairReport(threshold=settings.threshold)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n, (pair, sv, qv) in enumerate(zip(pairs, stored_vectors, query_vectors, strict=True)):
            home = Scope("eval", f"tenant{n}", "bot", "en", "kb1")
            store = ScopeStore(home, settings, embedder.dim, root)
            store.insert(pair.stored, sv, Entry(text=f"answer {n}", reply_id=str(n)))
            if pair.kind == "tenant":
                store.close()
                store = ScopeStore(Scope("eval", f"other{n}", "bot", "en", "kb1"), settings, embedder.dim, root)
            hit = store.lookup(pair.query, qv, rules, settings.ttl_s)
            store.close()
            report.should_hit += pair.expect_hit
            if hit is not None and hit.entry.text == f"answer {n}" and pair.expect_hit:
                report.true_hits += 1
            elif hit is not None:
                report.false_hits += 1
                report.wrong.append(pair)
    return report
