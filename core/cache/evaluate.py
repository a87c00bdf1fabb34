"""Measure the cache's candidates and hits on labelled (stored question, new question, should-hit) pairs.

By default each pair gets its own scope, so a query can only find its own pair's stored question; pairs of
kind "tenant" are queried from another tenant and must always miss. `crowded=True` puts every stored question
of a language into one scope instead, so each query also meets every other pair's question (as in a busy
tenant). The verifier is pluggable: none (exact repeats only), a scripted one from the labels, a random one.
Used by the tests and bench/bench_cache.py; it runs the real stores, rules and exact-repeat check.
"""

from __future__ import annotations

import csv
import json
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.cache.match import MatchRules, placeholder_reason
from core.cache.semantic import exact_repeat, search_texts
from core.cache.settings import CacheSettings
from core.cache.store import Entry, Hit, Scope, ScopeStore, for_verifier
from core.cache.verifier import Asked
from core.knowledge.embeddings import Embedder


@dataclass(frozen=True)
class Pair:
    kind: str
    expect_hit: bool
    stored: str
    query: str
    stored_context: tuple[str, ...] = ()
    query_context: tuple[str, ...] = ()
    lang: str = "en"

    @property
    def stored_asked(self) -> Asked:
        return Asked(self.stored, self.stored_context)

    @property
    def query_asked(self) -> Asked:
        return Asked(self.query, self.query_context)


def load_pairs(path: Path) -> list[Pair]:
    """The regression set (CSV: kind, expect, stored, query)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [Pair(r["kind"], r["expect"] == "hit", r["stored"], r["query"]) for r in csv.DictReader(f)]


def load_heldout(path: Path) -> list[Pair]:
    """The held-out set (JSON lines: a, b, label, lang, kind, context_a, context_b)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Pair(r["kind"], r["label"] == "hit", r["a"], r["b"], tuple(r["context_a"]), tuple(r["context_b"]),
                 r.get("lang", "en")) for r in rows]


Judge = Callable[[Asked, Asked], bool]


def no_model(stored: Asked, query: Asked) -> bool:
    return False


def label_judge(pairs: list[Pair]) -> Judge:
    """A scripted perfect verifier: yes exactly for the pairs labelled hit."""
    hits = {(p.stored_asked, p.query_asked) for p in pairs if p.expect_hit}
    return lambda stored, query: (stored, query) in hits


def random_judge(rate: float = 0.1, seed: int = 7) -> Judge:
    """A verifier that says yes at random: what the candidate rules alone prevent."""
    rng = random.Random(seed)
    return lambda stored, query: rng.random() < rate


@dataclass
class PairReport:
    threshold: float
    lookups: int = 0
    should_hit: int = 0
    reached: int = 0  # should-hit pairs whose stored question was exact or reached the verifier
    verifier_calls: int = 0
    true_hits: int = 0  # right answers served (in a crowded scope also on pairs labelled miss, via a duplicate)
    right_on_hit_pairs: int = 0  # right answers served on pairs labelled hit
    false_hits: int = 0
    wrong: list[Pair] = field(default_factory=list)
    missed: list[Pair] = field(default_factory=list)  # should-hit pairs that never reached the verifier

    @property
    def precision(self) -> float:
        hits = self.true_hits + self.false_hits
        return self.true_hits / hits if hits else 1.0

    @property
    def hit_rate(self) -> float:
        return self.right_on_hit_pairs / self.should_hit if self.should_hit else 0.0

    @property
    def candidate_recall(self) -> float:
        return self.reached / self.should_hit if self.should_hit else 0.0

    @property
    def calls_per_lookup(self) -> float:
        return self.verifier_calls / self.lookups if self.lookups else 0.0


@dataclass
class _Found:
    pair: Pair
    candidates: list[Hit]
    exact: Hit | None
    skipped: bool


async def find_candidates(pairs: list[Pair], embedder: Embedder, settings: CacheSettings,
                          crowded: bool = False) -> list[_Found]:
    """Store every pair's first question (as the stage would), then look up its second one."""
    rules = MatchRules(settings.threshold, settings.short_words, settings.short_margin, settings.substitution_margin)
    stored_texts = [search_texts(p.stored_asked) for p in pairs]
    query_texts = [search_texts(p.query_asked) for p in pairs]
    flat = await embedder.embed([t for ts in stored_texts + query_texts for t in ts])
    vectors, n = [], 0
    for ts in stored_texts + query_texts:
        vectors.append(flat[n:n + len(ts)])
        n += len(ts)
    stored_vectors, query_vectors = vectors[: len(pairs)], vectors[len(pairs):]
    out: list[_Found] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        stores: dict[str, ScopeStore] = {}

        def home(n: int, pair: Pair) -> ScopeStore:
            name = f"lang-{pair.lang}" if crowded else f"tenant{n}"
            if name not in stores:
                stores[name] = ScopeStore(Scope("eval", name, "bot", "en", "kb1"), settings, embedder.dim, root)
            return stores[name]

        # As the stage (with a verifier): a question holding placeholders only when it follows no earlier turns.
        storable = [placeholder_reason(p.stored, bool(p.stored_context), True) is None for p in pairs]
        for n, pair in enumerate(pairs):
            if storable[n]:
                home(n, pair).insert(pair.stored, stored_vectors[n][-1],
                                     Entry(text=f"answer {n}", reply_id=str(n), context=list(pair.stored_context)))
        for n, pair in enumerate(pairs):
            if placeholder_reason(pair.query, bool(pair.query_context), True) is not None:
                out.append(_Found(pair, [], None, True))
                continue
            store = home(n, pair)
            if pair.kind == "tenant":
                store = ScopeStore(Scope("eval", f"other{n}", "bot", "en", "kb1"), settings, embedder.dim, root)
            found = store.candidates(pair.query, query_vectors[n], rules, settings.ttl_s)
            if pair.kind == "tenant":
                store.close()
            exact = next((c for c in found if exact_repeat(pair.query_asked, c)), None)
            out.append(_Found(pair, for_verifier(found, settings), exact, False))
        for store in stores.values():
            store.close()
    return out


def score(found: list[_Found], pairs: list[Pair], judge: Judge, threshold: float) -> PairReport:
    """Play the verifier over the candidates: the nearest candidate it says yes to is served.

    A served answer is right when it is an exact repeat or its stored question (with its earlier turns) and the
    query form a pair labelled hit: judged by text, so a crowded scope's duplicate questions count as the same."""
    truth = {(p.stored_asked, p.query_asked) for p in pairs if p.expect_hit}
    report = PairReport(threshold=threshold)
    for item in found:
        pair, query = item.pair, item.pair.query_asked
        report.should_hit += pair.expect_hit
        if item.skipped:
            continue
        report.lookups += 1
        asked = [Asked(c.question, tuple(c.entry.context)) for c in item.candidates]
        if pair.expect_hit and (item.exact is not None or pair.stored_asked in asked):
            report.reached += 1
        elif pair.expect_hit:
            report.missed.append(pair)
        hit: Asked | None = None
        if item.exact is not None:
            hit = Asked(item.exact.question, tuple(item.exact.entry.context))
        elif judge is not no_model:
            report.verifier_calls += len(asked)
            hit = next((a for a in asked if judge(a, query)), None)
        if hit is None:
            continue
        if item.exact is not None or (hit, query) in truth:
            report.true_hits += 1
            report.right_on_hit_pairs += pair.expect_hit
        else:
            report.false_hits += 1
            report.wrong.append(pair)
    return report


async def evaluate_pairs(pairs: list[Pair], embedder: Embedder, settings: CacheSettings,
                         judge: Judge = no_model, crowded: bool = False) -> PairReport:
    found = await find_candidates(pairs, embedder, settings, crowded)
    return score(found, pairs, judge, settings.threshold)
