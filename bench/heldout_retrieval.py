"""Held-out retrieval quality: recall@5 and MRR per language combination, on question sets written by a session
that never read Deskmate's code (bench/data/heldout/retrieval/README.md).

- corpus: 197 English pages of Debian's postgresql-doc-15 HTML manual (`apt-get install -y postgresql-doc-15`),
  questions in English (en->en) and Russian (ru->en);
- sample KB: the 9 files of bots/sample_kb/ the questions were written for, questions in English and Russian.

A question counts as found when any of its expected pages is among the top 5 passages. "floor" is the
production setting (the relevance floor may return nothing: the bot abstains); "no floor" is abstention-free
recall (min_similarity off: is the right page ranked at all?). Non-answerable questions are reported as the
share the floor abstained on (nothing returned). Run through bench/bench_retrieval.py --heldout.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from core.knowledge.build import SAMPLE_ROOT, Knowledge
from core.knowledge.search import Scope

HELDOUT = Path(__file__).parent / "data" / "heldout" / "retrieval"
MODES = ("hybrid", "vector", "keyword")


def _questions(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (HELDOUT / name).read_text().splitlines() if line.strip()]


async def _evaluate(kb: Knowledge, collection: str, questions: list[dict[str, Any]], label: str, doc_lang: str,
                    min_similarity: float) -> None:
    rows: dict[tuple[str, str, str], list[float]] = defaultdict(list)  # (combo, mode, floor) -> reciprocal ranks
    abstained: dict[str, list[bool]] = defaultdict(list)
    for item in questions:
        combo = f"{item['lang']}->{doc_lang}"
        expected = set(item["expected"])
        for mode in MODES:
            for floor_name, floor in (("floor", min_similarity), ("no floor", -1.0)):
                if mode != "hybrid" and floor_name == "floor":
                    continue
                passages = await kb.searcher.search(item["question"], [collection], Scope("bench"), top_k=5,
                                                    mode=mode, min_similarity=floor)
                if not item["answerable"]:
                    if mode == "hybrid" and floor_name == "floor":
                        abstained[combo].append(not passages)
                    continue
                rr = next((1 / r for r, p in enumerate(passages, start=1) if Path(p.url).name in expected), 0.0)
                rows[(combo, mode, floor_name)].append(rr)
    print(f"\n{label}  (top 5; floor = min_similarity {min_similarity})")
    print(f"  {'combination':12s} {'mode':8s} {'floor':9s} {'n':>4s} {'recall@5':>9s} {'MRR':>6s}")
    for (combo, mode, floor_name), rrs in sorted(rows.items()):
        recall = sum(1 for r in rrs if r > 0) / len(rrs)
        print(f"  {combo:12s} {mode:8s} {floor_name:9s} {len(rrs):4d} {recall:9.3f} {sum(rrs) / len(rrs):6.3f}")
    for combo, flags in sorted(abstained.items()):
        print(f"  {combo:12s} non-answerable: abstained on {sum(flags)}/{len(flags)}")


async def heldout(kb: Knowledge, corpus_dir: Path, min_similarity: float = 0.3) -> None:
    pages = [corpus_dir / p for p in (HELDOUT / "corpus_pages.txt").read_text().split() if p]
    missing = [p for p in pages if not p.exists()]
    if missing:
        print(f"held-out corpus: {len(missing)} pages missing under {corpus_dir} "
              "(apt-get install -y postgresql-doc-15); skipped")
    else:
        t0 = time.perf_counter()
        report = await kb.ingest([str(p) for p in pages], "heldpg")
        print(f"held-out corpus: {report.added} pages, {report.chunks} chunks in {time.perf_counter() - t0:.0f}s")
        await _evaluate(kb, "heldpg", _questions("corpus_questions.jsonl"), "postgresql-doc-15 (197 pages)", "en",
                        min_similarity)
    kb_files = [line.split()[1] for line in (HELDOUT / "sample_kb_files.sha256").read_text().splitlines() if line]
    found = {p.name: p for p in SAMPLE_ROOT.rglob("*") if p.name in kb_files}
    report = await kb.ingest([str(found[f]) for f in kb_files], "heldkb")
    print(f"\nheld-out sample KB: {report.added} files (the 9 the questions were written for), {report.chunks} chunks")
    await _evaluate(kb, "heldkb", _questions("sample_kb_questions.jsonl"), "sample KB", "en", min_similarity)


async def embedding_cost(kb: Knowledge) -> None:
    """Per-question embedding time on the held-out questions (each question is new: the memo is bypassed)."""
    questions = [q["question"] for name in ("corpus_questions.jsonl", "sample_kb_questions.jsonl")
                 for q in _questions(name)]
    embed = getattr(kb.embedder, "_embed_now", kb.embedder.embed)  # our own embedder, without its memo
    lat = []
    for q in questions:
        s = time.perf_counter()
        await embed([q])
        lat.append((time.perf_counter() - s) * 1000)
    lat.sort()
    print(f"\nquery embedding ({kb.embedder.model_id}): {len(lat)} held-out questions, p50 "
          f"{statistics.median(lat):.2f} ms, p95 {lat[int(len(lat) * 0.95) - 1]:.2f} ms")
