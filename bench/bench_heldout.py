"""Retrieval and abstention on the held-out sets (written by a session that never read the code).

    .venv/bin/python bench/bench_heldout.py                  # the PostgreSQL corpus (197 pages, 226 questions)
    .venv/bin/python bench/bench_heldout.py --set sample_kb  # the sample KB (87 questions)
    .venv/bin/python bench/bench_heldout.py --set tuning     # NOT held-out: our own tuning set (see below)
    .venv/bin/python bench/bench_heldout.py --set dev_corpus  # NOT held-out: the implementer's dev set (see below)
    .venv/bin/python bench/bench_heldout.py --set dev_kb      # the same dev set's sample-KB questions
    .venv/bin/python bench/bench_heldout.py --set translit    # NOT held-out: Russian typed in Latin letters
    .venv/bin/python bench/bench_heldout.py --set translit_heldout  # held-out: the same, by an outside writer
    ... --data /tmp/pg   # keep the index in this folder: a second run re-ingests incrementally (seconds)

`--set tuning` is what retrieval changes are tuned on: bench/data/tuning/pg_questions.jsonl (36 questions on 38
postgresql-doc-15 pages that are not in the held-out subset) over those pages plus 100 more pages of the same
manual that are in neither set (distractors), and bench/data/tuning/postgres_unanswerable.jsonl.

`--set dev_corpus` / `dev_kb` is bench/data/dev/retrieval_dev.jsonl, written by the retrieval implementer (who
has read the code) over the same 197 held-out corpus pages and the sample KB (en and ru versions of each question,
plus unanswerable ones): what cross-lingual retrieval was tuned on. Its per-language rows are the combinations
question language -> document language ("ru->en", "ru->ru+en" when a Russian page also answers); `--misses` lists
the questions not found (dev and translit sets only: never print held-out misses to tune on them).

The corpus is Debian's postgresql-doc-15 HTML (apt-get install -y postgresql-doc-15); only the pages in
bench/data/heldout/retrieval/corpus_pages.txt are ingested, with the real `Knowledge.ingest`. Each question goes
through plain hybrid search as the retrieval stage did before the evidence gate (floor 0.3), and through the
retrieval stage's own code path (`RetrievalStage.retrieve`: hybrid search with the bot's default options, at
most two passages per document, evidence gate), the passages a bot would put into its prompt.
Prints recall@5, MRR (overall and per language), abstention precision/recall, and the chunks that are page
navigation ("Prev / Up / Home / Next"). Nothing is downloaded; the data set is held out: do not tune on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.knowledge.build import SAMPLE_DIR, SAMPLE_PUBLIC_DIR, Knowledge, open_knowledge
from core.knowledge.golden import Outcome, load_golden, ranked_sources, score
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings
from core.knowledge.store import Store
from core.log import configure_logging
from core.state.redis import open_redis

HELDOUT = Path(__file__).parent / "data" / "heldout" / "retrieval"
DEV = Path(__file__).parent / "data" / "dev" / "retrieval_dev.jsonl"
TUNING = Path(__file__).parent / "data" / "tuning"
DISTRACTORS = 100
NAVIGATION = re.compile(r"\b(Prev|Next)\b.*\b(Up|Home|Next)\b", re.S)


def corpus_files() -> list[str]:
    info = json.loads((HELDOUT / "corpus.json").read_text())
    base = Path(info["base_dir"])
    pages = [line.strip() for line in (HELDOUT / "corpus_pages.txt").read_text().splitlines() if line.strip()]
    missing = [p for p in pages if not (base / p).is_file()]
    if missing:
        raise SystemExit(f"{len(missing)} corpus pages missing under {base}: apt-get install -y {info['package']}")
    return [str(base / p) for p in pages]


def tuning_files() -> tuple[list[str], Path]:
    """The tuning pages and DISTRACTORS other pages of the manual (in neither the tuning nor the held-out set)."""
    base = Path(json.loads((HELDOUT / "corpus.json").read_text())["base_dir"])
    listed = lambda f: {x.strip() for x in f.read_text().splitlines() if x.strip()}  # noqa: E731
    mine, held = listed(TUNING / "pg_pages.txt"), listed(HELDOUT / "corpus_pages.txt")
    others = sorted(p.name for p in base.glob("*.html") if p.name not in mine | held)
    step = max(1, len(others) // DISTRACTORS)
    pages = sorted(mine) + others[::step][:DISTRACTORS]
    questions = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    rows = [json.loads(x) for x in (TUNING / "pg_questions.jsonl").read_text().splitlines() if x.strip()]
    rows += [{"lang": r["lang"], "question": r["q"], "expected": [], "answerable": False}
             for r in map(json.loads, (TUNING / "postgres_unanswerable.jsonl").read_text().splitlines())]
    questions.write_text("".join(json.dumps({"id": f"t{i:03d}", **r}) + "\n" for i, r in enumerate(rows)))
    return [str(base / p) for p in pages], questions


def dev_questions(which: str) -> Path:
    """The dev set's questions of one part, `lang` rewritten as the question -> document language combination."""
    part = {"dev_corpus": "corpus", "dev_kb": "sample_kb"}[which]
    questions = Path(tempfile.mkstemp(suffix=".jsonl")[1])
    rows = [json.loads(x) for x in DEV.read_text().splitlines() if x.strip()]
    out = []
    for r in rows:
        if r["set"] == part:
            docs = "+".join(sorted({RUSSIAN_DOCS.get(e, "en") for e in r["expected"]}, reverse=True)) or "none"
            out.append({**r, "lang": f"{r['lang']}->{docs}"})
    questions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))
    return questions


RUSSIAN_DOCS = {"dostavka.md": "ru", "vozvrat.md": "ru", "podpiska.md": "ru"}  # the sample KB's Russian pages


async def chrome_chunks(kb: Knowledge, collection: str) -> tuple[int, int, list[str]]:
    coll = await kb.store.get(collection)
    rows = await asyncio.to_thread(Store.get_all_sync, coll, ["documents"])
    docs = [d or "" for d in rows["documents"]]
    nav = [d for d in docs if NAVIGATION.search(d) and len(d.split()) < 40]
    return len(docs), len(nav), nav[:3]


async def run(kb: Knowledge, which: str, k: int, gate: bool, misses: bool = False) -> None:
    from core.knowledge.evidence import gated
    from core.knowledge.options import RetrievalOptions
    from core.knowledge.search import Scope
    from core.knowledge.stage import PER_DOCUMENT, RetrievalStage

    collection = "heldout"
    # The sample KB as the held-out questions were written on: the internal and public folders (9 files).
    paths = corpus_files() if which in ("corpus", "dev_corpus") else [str(SAMPLE_DIR), str(SAMPLE_PUBLIC_DIR)]
    questions = dev_questions(which) if which.startswith("dev") else HELDOUT / f"{which}_questions.jsonl"
    if which == "translit":  # NOT held-out: Latin-letter Russian questions written by the implementer
        questions = TUNING / "translit_questions.jsonl"
    if which == "tuning":
        paths, questions = tuning_files()
    started = time.perf_counter()
    report = await kb.ingest(paths, collection)
    print(f"ingest: {report.added} documents, {report.chunks} chunks in {time.perf_counter() - started:.1f}s; "
          f"{len(report.failed)} failed; {report.unchanged} unchanged; {report.boilerplate} repeated blocks dropped")
    total, nav, examples = await chrome_chunks(kb, collection)
    print(f"chunks that are page navigation: {nav} of {total}" + "".join(f"\n   e.g. {e[:90]!r}" for e in examples))
    items = load_golden(questions)
    stage = RetrievalStage(kb)
    configs = [("plain search (the stage before the gate: floor 0.3, no per-document cap)", None)]
    floor = RetrievalOptions().min_similarity
    configs.append((f"retrieval stage (floor {floor:.2f}, <= {PER_DOCUMENT} passages per document, evidence gate)",
                    RetrievalOptions()))
    embed_ms: list[float] = []
    search_ms: list[float] = []
    for label, options in configs:
        outcomes: list[Outcome] = []
        started = time.perf_counter()
        for item in items:
            if options is None:
                timings: dict[str, float] = {}
                passages = await kb.searcher.search(item.question, [collection], Scope("bench"), top_k=k,
                                                    min_similarity=0.3, timings=timings)
                embed_ms.append(timings.get("embed_s", 0.0) * 1000)  # the first pass: not memoized yet
                search_ms.append(timings.get("search_s", 0.0) * 1000)
                outcomes.append(Outcome(item, ranked_sources(p.url for p in passages)))
                continue
            found = await stage.retrieve(item.question, (collection,), Scope("bench"), options)
            outcomes.append(Outcome(item, ranked_sources(p.url for p in found.passages),
                                    abstained=gate and gated(item.question) and not found.confident,
                                    confidence=found.confidence))
        took = time.perf_counter() - started
        m = score(outcomes, k)
        print(f"{which}, {label}: {m.questions} questions ({m.answerable} answerable) in {took:.1f}s")
        print(f"  recall@{k} = {m.recall_at_k:.3f}   MRR = {m.mrr:.3f}")
        for lang, row in m.by_lang.items():
            print(f"    {lang}: recall@{k} = {row['recall_at_k']:.3f}   MRR = {row['mrr']:.3f}   "
                  f"({row['answerable']:.0f})")
        if options is None:
            print(f"  query embedding p50 = {statistics.median(embed_ms):.1f} ms   search after it p50 = "
                  f"{statistics.median(search_ms):.1f} ms   "
                  f"RSS (max so far) = {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if misses and (which.startswith("dev") or which == "translit"):
            print("  missed: " + " ".join(m.misses))
        if gate and options is not None:
            print(f"  abstention precision = {m.abstention_precision}   recall = {m.abstention_recall}   "
                  f"answerable abstained on = {m.false_abstention_rate:.3f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("corpus", "sample_kb", "tuning", "dev_corpus", "dev_kb",
                                                     "translit", "translit_heldout"), default="corpus")
    parser.add_argument("--misses", action="store_true", help="list the questions not found (dev sets only)")
    parser.add_argument("--no-bridge", action="store_true", help="without the cross-lingual keyword bridge (before)")
    parser.add_argument("--data", type=Path, default=None, help="keep the index here (re-runs ingest incrementally)")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--no-gate", action="store_true", help="retrieval numbers only")
    parser.add_argument("--embedder", choices=("use", "use+e5"), default="use", help="the local model (settings)")
    parser.add_argument("--threads", type=int, default=1, help="threads of the local model per call (0 = per core)")
    parser.add_argument("--use-weight", type=float, default=0.5, help="use+e5: USE's share of a question's score")
    args = parser.parse_args()
    configure_logging("warning", "console", sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        data.mkdir(parents=True, exist_ok=True)
        async with open_redis(None, data) as redis:
            embeddings = EmbeddingsSettings(local_model=args.embedder, local_use_weight=args.use_weight,
                                            local_threads=args.threads)
            kb = await open_knowledge(embeddings, ChromaSettings(), data, redis)
            kb.searcher.bridge = kb.searcher.bridge and not args.no_bridge
            await kb.embedder.embed_query(["warm up"])  # the model loads on its first call
            print(f"RSS after start-up: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
            await run(kb, args.set, args.k, not args.no_gate, args.misses)
            await kb.aclose()


if __name__ == "__main__":
    asyncio.run(main())
