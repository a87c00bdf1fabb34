"""Fusion tuning on the implementer's OWN questions (never the held-out ones): one index, several configurations.

    .venv/bin/python bench/tune_retrieval.py --data /tmp/pg --config '{}' --config '{"document_weight": 0.3}'
    ... --set tuning        # bench/data/tuning (38 other pages of the manual + 100 distractors)
    ... --set own           # bench/data/tuning/pg_corpus_own.jsonl: written by the implementer of the fusion

Sets (all written by implementers who had read the code, none held-out): `dev_corpus` (bench/data/dev, 160
answerable questions over the 197 corpus pages), `own` (bench/data/tuning/pg_corpus_own.jsonl, over the same
pages, written for the fusion tuning), `tuning` (bench/data/tuning/pg_questions.jsonl over other pages).
`--config '{"page_weight": 0, "candidates": 30, "per_other": 2}'` is the search before the fusion tuning.
Each configuration sets fields of `Searcher.fusion` (core/knowledge/fusion.py) and `RetrievalOptions`
(`rrf_k`, `candidates`); each question goes through the retrieval stage's own path. Prints recall@5 and MRR per
language and the search p50.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_heldout import TUNING, corpus_files, dev_questions, tuning_files
from core.knowledge import bridge as bridge_module
from core.knowledge import stage as stage_module
from core.knowledge.build import open_knowledge
from core.knowledge.fusion import Fusion
from core.knowledge.golden import Outcome, load_golden, ranked_sources, score
from core.knowledge.options import RetrievalOptions
from core.knowledge.search import Scope
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings
from core.knowledge.stage import RetrievalStage
from core.log import configure_logging
from core.state.redis import open_redis

OWN = TUNING / "pg_corpus_own.jsonl"
DEFAULTS = stage_module.PER_DOCUMENT, stage_module.PER_OTHER_DOCUMENT, bridge_module.MIN_SIMILARITY, \
    bridge_module.SECOND_WITHIN


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("dev_corpus", "own", "tuning"), default="dev_corpus")
    parser.add_argument("--data", type=Path, required=True, help="the index folder (bench_heldout.py --data)")
    parser.add_argument("--config", action="append", default=[], help="JSON: Fusion fields, rrf_k, candidates")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    configure_logging("warning", "console", sys.stderr)
    if args.set == "tuning":
        paths, questions = tuning_files()
    else:
        paths, questions = corpus_files(), (dev_questions("dev_corpus") if args.set == "dev_corpus" else OWN)
    items = load_golden(questions)
    fields = {f.name for f in dataclasses.fields(Fusion)}
    async with open_redis(None, args.data) as redis:
        kb = await open_knowledge(EmbeddingsSettings(), ChromaSettings(), args.data, redis)
        report = await kb.ingest(paths, "heldout")
        print(f"{args.set}: {len(items)} questions; ingest {report.added} added, {report.unchanged} unchanged")
        stage = RetrievalStage(kb)
        for raw in args.config or ["{}"]:
            config = json.loads(raw)
            kb.searcher.fusion = Fusion(**{k: v for k, v in config.items() if k in fields})
            stage_module.PER_DOCUMENT = config.pop("per_document", DEFAULTS[0])
            stage_module.PER_OTHER_DOCUMENT = config.pop("per_other", DEFAULTS[1])
            bridge_module.MIN_SIMILARITY = config.pop("bridge_min", DEFAULTS[2])  # the bridge's translation floor
            bridge_module.SECOND_WITHIN = config.pop("bridge_second", DEFAULTS[3])
            options = RetrievalOptions(**{k: v for k, v in config.items() if k not in fields})
            outcomes, took = [], []
            for item in items:
                timings: dict[str, float] = {}
                t0 = time.perf_counter()
                found = await stage.retrieve(item.question, ("heldout",), Scope("bench"), options, timings)
                took.append((time.perf_counter() - t0) * 1000)
                outcomes.append(Outcome(item, ranked_sources(p.url for p in found.passages),
                                        abstained=not found.confident, confidence=found.confidence))
            m = score(outcomes, 5)
            langs = "  ".join(f"{lang} {row['recall_at_k']:.3f}/{row['mrr']:.3f}" for lang, row in m.by_lang.items())
            print(f"{raw:70s} r@5 {m.recall_at_k:.3f} MRR {m.mrr:.3f} | {langs} | p50 {statistics.median(took):.1f} ms"
                  f" | abst ans {m.false_abstention_rate:.3f}")
            if args.misses:
                print("  missed: " + " ".join(m.misses))
        await kb.aclose()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        asyncio.run(main())
