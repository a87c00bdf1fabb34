"""Knowledge base benchmark: ingest throughput, query latency at scale, retrieval quality.

    .venv/bin/python bench/bench_retrieval.py                 # quality + 10k + 100k chunks
    .venv/bin/python bench/bench_retrieval.py --sizes 10000   # quicker
    .venv/bin/python bench/bench_retrieval.py --heldout-only  # held-out en/ru quality only (bench/heldout_retrieval.py)

Quality: recall@5 and MRR of hybrid (and vector-only) search over bench/data/postgres (paraphrased
PostgreSQL 16 docs, see bench/data/postgres/SOURCE.md) with the questions in bench/data/questions.jsonl.
Ingest: chunks/s through `Knowledge.ingest` (read, parse, chunk, embed, write) for bots/sample_kb,
bench/data and --ingest-docs small synthetic documents, next to the model's own speed on those texts.
Scale: synthetic chunks built from that corpus's sentences; ingest throughput embeds real text with the
local model (up to --embed-limit chunks; beyond that, vectors are reused with small noise so 100k chunks
do not take an hour on 2 cores — said in the output). Query latency excludes the query embedding
(targets: p50 <= 30 ms at 100k chunks; recall@5 >= 0.85). Runs offline; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.heldout_retrieval import embedding_cost, heldout
from core.knowledge.build import Knowledge, open_knowledge
from core.knowledge.ingest import embed_text
from core.knowledge.options import RetrievalOptions
from core.knowledge.search import Scope
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings
from core.log import configure_logging
from core.state.redis import open_redis

DATA = Path(__file__).parent / "data"


async def quality(kb: Knowledge) -> None:
    """Our own tuning set: English questions and Russian questions over the same English pages."""
    report = await kb.ingest([str(DATA / "postgres")], "pgdocs")
    for name in ("questions.jsonl", "questions_ru.jsonl"):
        questions = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]
        print(f"quality ({name}): {report.added} documents, {report.chunks} chunks, {len(questions)} questions")
        for mode in ("hybrid", "vector", "keyword"):
            hits = rr = 0.0
            for item in questions:
                passages = await kb.searcher.search(item["q"], ["pgdocs"], Scope("bench"), top_k=5, mode=mode,
                                                    min_similarity=-1.0)
                for rank, p in enumerate(passages, start=1):
                    if p.title == item["title"] and p.section == item["section"]:
                        hits += 1
                        rr += 1 / rank
                        break
            n = len(questions)
            print(f"  {mode:7s} recall@5 = {hits / n:.3f}   MRR = {rr / n:.3f}")


def synthetic_chunks(n: int, seed: int = 7) -> list[tuple[str, dict]]:
    sentences: list[str] = []
    for path in sorted((DATA / "postgres").glob("*.md")):
        for para in path.read_text().split("\n"):
            if para and not para.startswith("#"):
                sentences.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", para) if len(s) > 20)
    rnd = random.Random(seed)
    words = sorted({w for s in sentences for w in re.findall(r"[a-z_]{4,}", s.lower())})
    out = []
    for i in range(n):
        body = " ".join(rnd.sample(sentences, 3)) + f" Ticket REF-{i:06d} mentions {rnd.choice(words)}."
        meta = {"doc": f"d{i // 20}", "source": f"synthetic/{i // 20}.md", "root": "", "title": f"Doc {i // 20}",
                "section": f"Part {i % 20}", "updated": 1.7e9 + i, "hash": "x", "tenant": "*" if i % 3 else f"t{i % 5}",
                "access": "*", "url": f"synthetic/{i // 20}.md", "chunk": i % 20}
        out.append((body, meta))
    return out


def write_docs(folder: Path, chunks: list[tuple[str, dict]], docs: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(docs):  # small documents: three sections each, one chunk per section
        parts = "".join(f"## Part {j}\n\n{chunks[3 * i + j][0]}\n\n" for j in range(3))
        (folder / f"doc{i:04d}.md").write_text(f"# Note {i}\n\n{parts}")


async def ingest_throughput(kb: Knowledge, docs: int, folder: Path) -> None:
    """Chunks/s through the real ingest path (read, parse, chunk, embed, write), and the model's ceiling."""
    chunks = synthetic_chunks(docs * 3, seed=11)
    await asyncio.to_thread(write_docs, folder, chunks, docs)
    from core.knowledge.build import SAMPLE_DIR

    for label, paths in (("sample_kb", [str(SAMPLE_DIR)]), ("bench/data", [str(DATA / "postgres")]),
                         (f"{docs} small docs", [str(folder)])):
        cpu, s = time.process_time(), time.perf_counter()
        report = await kb.ingest(paths, "ingest" + label.split()[0].replace("/", "").replace("_", ""))
        took = time.perf_counter() - s
        print(f"ingest {label}: {report.chunks} chunks from {report.added} documents in {took:.1f}s = "
              f"{report.chunks / took:.0f} chunks/s (cpu {time.process_time() - cpu:.1f}s)")
    texts = [embed_text({"title": "Note", "section": "Part"}, t) for t, _ in chunks]
    s = time.perf_counter()
    await kb.embedder.embed(texts)
    print(f"  model alone on the same {len(texts)} chunk texts: {len(texts) / (time.perf_counter() - s):.0f} chunks/s")


async def scale(kb: Knowledge, size: int, embed_limit: int, queries: int) -> None:
    name = f"bench{size}"
    coll = await kb.store.open(name, kb.embedder.model_id, kb.embedder.dim)
    chunks = synthetic_chunks(size)
    real = min(size, embed_limit)
    t0 = time.perf_counter()
    vectors: list[list[float]] = []
    batch = 512
    for start in range(0, real, batch):
        part = chunks[start:start + batch]
        vecs = await kb.embedder.embed([embed_text(m, t) for t, m in part])
        await asyncio.to_thread(coll.add, ids=[f"c{start + j}" for j in range(len(part))], embeddings=vecs,
                                documents=[t for t, _ in part], metadatas=[m for _, m in part])
        vectors.extend(vecs)
    took = time.perf_counter() - t0
    print(f"scale {size}: {real} chunks embedded (batches of {batch}) + written in {took:.1f}s = "
          f"{real / took:.0f} chunks/s")
    if size > real:
        rng = np.random.default_rng(1)
        base = np.asarray(vectors, dtype=np.float32)
        t1 = time.perf_counter()
        for start in range(real, size, 5000):
            end = min(size, start + 5000)
            v = base[rng.integers(0, len(base), end - start)] + rng.normal(0, 0.02, (end - start, base.shape[1]))
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            part = chunks[start:end]
            await asyncio.to_thread(coll.add, ids=[f"c{i}" for i in range(start, end)], embeddings=v.tolist(),
                                    documents=[t for t, _ in part], metadatas=[m for _, m in part])
        print(f"  + {size - real} chunks with reused (noised) vectors written in {time.perf_counter() - t1:.1f}s")
    await kb.store.bump(name)
    t2 = time.perf_counter()
    await kb.searcher.keyword_index(name, coll, (await kb.store.versions([name]))[0])
    print(f"  in-memory index (text, metadata, BM25) built in {time.perf_counter() - t2:.1f}s "
          f"(once per collection version and worker)")
    questions = [json.loads(line)["q"] for line in (DATA / "questions.jsonl").read_text().splitlines() if line]
    questions = [questions[i % len(questions)] + ("" if i < len(questions) else f" REF-{i:06d}")
                 for i in range(queries)]
    qvecs = await kb.embedder.embed(questions)
    for label, scope in (("shared", Scope("t1")), ("tenant+filter", Scope("t1", tags={}, updated_since=1.7e9 + 10))):
        lat = []
        for q, v in zip(questions, qvecs, strict=True):
            s = time.perf_counter()
            await kb.searcher.search(q, [name], scope, top_k=5, query_vector=v)
            lat.append((time.perf_counter() - s) * 1000)
        lat.sort()
        p95 = lat[int(len(lat) * 0.95) - 1]
        print(f"  query ({label}, excl. embedding): p50 {statistics.median(lat):.1f} ms  p95 {p95:.1f} ms  "
              f"({len(lat)} queries)")
    s = time.perf_counter()
    await kb.embedder.embed([f"how do I reset my password on the {size}-chunk wiki"])  # new text: not memoized
    print(f"  (one query embedding with the local model: {(time.perf_counter() - s) * 1000:.1f} ms)")


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--embed-limit", type=int, default=10000, help="chunks embedded for real per size")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--ingest-docs", type=int, default=200, help="small documents for the ingest test (0: skip)")
    parser.add_argument("--heldout-only", action="store_true",
                        help="only retrieval quality (own and held-out en/ru sets) and query cost")
    parser.add_argument("--corpus-dir", default="/usr/share/doc/postgresql-doc-15/html", type=Path)
    parser.add_argument("--min-similarity", type=float, default=RetrievalOptions().min_similarity,
                        help="relevance floor (default: the profiles' default)")
    parser.add_argument("--embeddings-model", default=None, help="a litellm embedding model instead of the local one")
    parser.add_argument("--embeddings-api-base", default=None)
    args = parser.parse_args()
    configure_logging("warning", "console", sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        async with open_redis(None, data_dir) as redis:
            embeddings = EmbeddingsSettings(model=args.embeddings_model, api_base=args.embeddings_api_base,
                                            api_key="bench" if args.embeddings_model else None)
            kb = await open_knowledge(embeddings, ChromaSettings(), data_dir, redis)
            s = time.perf_counter()
            await kb.embedder.embed(["warm up"])
            print(f"model loaded in {time.perf_counter() - s:.1f}s ({kb.embedder.model_id}); cores: {os.cpu_count()}; "
                  f"RSS {_rss_mb():.0f} MB")
            await embedding_cost(kb)
            await heldout(kb, args.corpus_dir, args.min_similarity)
            if not args.skip_quality:
                await quality(kb)
            if args.heldout_only:
                await kb.aclose()
                return
            if args.ingest_docs:
                await ingest_throughput(kb, args.ingest_docs, data_dir / "ingest_docs")
            for size in (int(x) for x in args.sizes.split(",") if x):
                await scale(kb, size, args.embed_limit, args.queries)
            await kb.aclose()


if __name__ == "__main__":
    asyncio.run(main())
