"""Semantic cache benchmark: `python bench/bench_cache.py` (a few minutes on 2 cores).

1. Held-out set (tests/data/heldout/cache/pairs.jsonl, written by a session that never read the code):
   candidate recall (should-hit pairs whose stored question reaches the verifier or is an exact repeat),
   verifier calls per lookup, and precision / hit rate with no model (exact repeats only), with a scripted
   perfect verifier (the labels) and with one that says yes at random 10 % of the time. Each pair in its own
   scope (as the issue measured), and "crowded": every stored question of a language in one scope.
   The regression set (tests/data/cache_pairs.csv) the same way.
2. An exact-repeat hit end to end through the engine, including the local embedding (target p50 <= 15 ms).
3. Time to first token of a miss that needs the verifier, cache on vs off, interleaved in one run
   (target: p50 <= 20 ms apart), and of a verified hit (target <= the verifier's TTFT + 30 ms).
4. Lookup time in one scope holding 1k / 10k / 100k entries (random unit vectors for the bulk fill).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from core.cache import CacheSettings, open_cache
from core.cache.evaluate import (
    PairReport,
    find_candidates,
    label_judge,
    load_heldout,
    load_pairs,
    no_model,
    random_judge,
    score,
)
from core.cache.match import MatchRules, normalize
from core.cache.stage import CacheStage
from core.cache.store import Entry, Scope, ScopeStore
from core.knowledge.embeddings import LocalEmbedder

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
PAIRS = DATA / "cache_pairs.csv"
HELDOUT = DATA / "heldout" / "cache" / "pairs.jsonl"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_engine_hit(embedder: LocalEmbedder, data_dir: Path) -> None:
    from bots.profile_loader import load_profiles
    from core.engine import Engine
    from core.flags import FeatureFlags
    from core.llm.gateway import LiteLLMGateway
    from core.llm.settings import LLMSettings
    from core.models import Final, Inbound
    from core.prompts import PromptLibrary, builtin_prompts_dir
    from core.stages.features import FeaturesStage
    from core.stages.generate import GenerateStage
    from core.state.redis import open_redis

    async with open_redis(None, data_dir / "redis") as redis:
        prompts = PromptLibrary.load(builtin_prompts_dir())
        gateway = LiteLLMGateway(LLMSettings(), redis)

        async def kb_version(tenant: str, collections: object) -> str:
            return "kb1"

        cache = await open_cache(CacheSettings(), data_dir, embedder, redis, kb_version)
        engine = Engine([FeaturesStage(FeatureFlags(redis)), CacheStage(cache)], GenerateStage(gateway, prompts),
                        load_profiles(None))
        # Seed one answer the way a model reply would be stored.
        question = "How do I reset my password?"  # asked again below as an exact repeat (case, punctuation)
        scope = await cache.scope(engine.new_turn(Inbound(platform="console", bot="helpdesk", tenant="T1",
                                                          channel="C", user="U1", text=question)))
        vector = (await embedder.embed([question]))[0]
        await cache.stores.run(lambda: cache.stores.open(scope, True).insert(question, vector, Entry(
            text="Open the self-service portal, choose *Reset password* and follow the e-mailed link. " * 3,
            model="gpt-4o-mini", prompt_name="helpdesk", prompt_version="v1", reply_id="seed")))
        entry_id = (await cache.stores.run(lambda: cache.stores.open(scope, True).candidates(
            question, [vector], MatchRules(0.99), 3600)))[0].entry_id
        await redis.hset(cache._exact_key(scope), normalize(question), entry_id)  # as SemanticCache.store does
        to_final, total = [], []
        for n in range(220):
            inbound = Inbound(platform="console", bot="helpdesk", tenant="T1", channel=f"c{n}", user="U1",
                              text="how do I reset my password")
            t0 = time.perf_counter()
            async for event in engine.handle(inbound):
                if isinstance(event, Final):
                    assert event.cached, "expected a cache hit"
                    to_final.append(time.perf_counter() - t0)
            total.append(time.perf_counter() - t0)
        to_final, total = to_final[20:], total[20:]  # warm-up
        print(f"engine exact-repeat hit, to Final:     p50 {statistics.median(to_final) * 1000:6.2f} ms   "
              f"p95 {pct(to_final, 0.95) * 1000:6.2f} ms   (n={len(to_final)}, incl. local embedding)")
        print(f"engine cache hit, whole stream: p50 {statistics.median(total) * 1000:6.2f} ms   "
              f"p95 {pct(total, 0.95) * 1000:6.2f} ms   (incl. memory append after the Final)")
        t0 = time.perf_counter()
        for _ in range(50):
            await embedder.embed(["How can I reset my password?"])
        runtime = embedder.model_id
        print(f"  of which local embedding of the question: {(time.perf_counter() - t0) / 50 * 1000:.2f} ms "
              f"({runtime}, {embedder.threads} thread(s), DESKMATE_EMBEDDINGS__LOCAL_THREADS)")
        await cache.aclose()
        await gateway.aclose()


def bench_lookup_sizes(dim: int, root: Path) -> None:
    rng = np.random.default_rng(7)
    settings = CacheSettings(max_entries=200_000)
    rules = MatchRules(settings.threshold)
    for size in (1_000, 10_000, 100_000):
        store = ScopeStore(Scope("bench", f"t{size}", "bot", "en", "kb"), settings, dim, root)
        vectors = rng.standard_normal((size, dim)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        t0 = time.perf_counter()
        _bulk_fill(store, vectors)
        fill_s = time.perf_counter() - t0
        times = []
        for i in range(200):
            query = vectors[rng.integers(size)] + rng.standard_normal(dim).astype("float32") * 0.01
            t1 = time.perf_counter()
            store.candidates(f"bench question {i}", [query.tolist()], rules, settings.ttl_s)
            times.append(time.perf_counter() - t1)
        print(f"lookup at {size:>7,} entries: p50 {statistics.median(times) * 1000:6.2f} ms   "
              f"p95 {pct(times, 0.95) * 1000:6.2f} ms   (fill {fill_s:.1f} s)")
        store.close()


def _bulk_fill(store: ScopeStore, vectors: np.ndarray) -> None:
    """Insert many entries in batches through GPTCache's data manager (same tables and index as insert())."""
    from gptcache.manager.scalar_data.base import CacheData
    from gptcache.manager.vector_data.base import VectorData

    dm = store._dm
    for start in range(0, len(vectors), 5_000):
        batch = vectors[start:start + 5_000]
        ids = dm.s.batch_insert([CacheData(question=f"bench question {start + i}",
                                           answers=Entry(text="a", reply_id=str(start + i)).dump(),
                                           embedding_data=v) for i, v in enumerate(batch)])
        dm.v.mul_add([VectorData(id=i, data=v) for i, v in zip(ids, batch, strict=True)])
        dm.eviction_base.put(ids)


def _line(name: str, r: PairReport) -> str:
    return (f"    {name:<22} precision {r.precision:.3f}   hit rate {r.hit_rate:.3f}   "
            f"right {r.true_hits:>3}  wrong {r.false_hits:>3}")


async def bench_pairs(embedder: LocalEmbedder, path: Path, title: str) -> None:
    pairs = load_heldout(path) if path.suffix == ".jsonl" else load_pairs(path)
    settings = CacheSettings()
    print(f"{title}: {len(pairs)} pairs ({sum(p.expect_hit for p in pairs)} should hit), "
          f"candidate floor {settings.threshold}, at most {settings.max_verify} verified per lookup")
    for crowded in (False, True):
        found = await find_candidates(pairs, embedder, settings, crowded=crowded)
        perfect = score(found, pairs, label_judge(pairs), settings.threshold)
        print(f"  {'crowded scope per language' if crowded else 'one scope per pair'}: candidate recall "
              f"{perfect.candidate_recall:.3f}   verifier calls per lookup {perfect.calls_per_lookup:.2f}   "
              f"(lookups {perfect.lookups}; skipped: personal data {len(found) - perfect.lookups})")
        print(_line("no model (exact only)", score(found, pairs, no_model, settings.threshold)))
        print(_line("perfect verifier", perfect))
        print(_line("random 10% yes", score(found, pairs, random_judge(0.1), settings.threshold)))
        if not crowded and os.environ.get("BENCH_CACHE_VERBOSE"):
            for p in perfect.missed:
                print(f"      not a candidate [{p.kind}/{p.lang}]: {p.stored!r} -> {p.query!r}")


async def main() -> None:
    from core.log import configure_logging

    configure_logging("error", "console")  # per-reply logs would flood the output and cost time per hit
    # No query memo: in real traffic each question is embedded once for the cache (the memo only saves the
    # retrieval stage's second embedding), so the hit latency must include a real model call.
    embedder = LocalEmbedder(memo_size=0, threads=int(os.environ.get("DESKMATE_EMBEDDINGS__LOCAL_THREADS", "1")))
    await embedder.warm()
    with tempfile.TemporaryDirectory() as tmp:
        await bench_pairs(embedder, HELDOUT, "held-out set")
        await bench_pairs(embedder, PAIRS, "regression set")
        await bench_engine_hit(embedder, Path(tmp) / "engine")
        from bench.cache_latency import bench_miss_latency

        await bench_miss_latency(embedder, Path(tmp) / "latency")
        bench_lookup_sizes(embedder.dim, Path(tmp) / "sizes")


if __name__ == "__main__":
    asyncio.run(main())
