"""What a user sees while an answer streams, from the fake platform's log of visible characters over time.

Shared by bench_slack.py and bench_telegram.py (issue 22's numbers): per answer, first text − model's first
token, characters visible 1 s after the first text, the largest gap between visible changes, final − model's
last token, calls by method, refusals (429s from the flood emulation), and whether the final text is complete.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORDS_PER_S = 50.0
WORDS = 375
TTFT_S = 0.5


def long_answer(tag: str = "") -> str:
    """~375 words (~2,150 characters) in paragraphs, a list and bold, like a support answer."""
    sentence = ("The {n} step of the {tag}setup guide explains how the **VPN client** connects, which settings "
                "matter and what to check when it fails.")
    out: list[str] = []
    n = 0
    while sum(len(p.split()) for p in out) < WORDS:
        n += 1
        para = " ".join(sentence.format(n=f"#{n}.{k}", tag=tag) for k in range(3))
        out.append(para if n % 3 else f"- item {n}: {para}")
    words = " ".join(out).split(" ")[:WORDS]
    text = " ".join(words)
    return text.replace(". The #", ".\n\nThe #", 3)


@dataclass
class Reveal:
    first_minus_token_ms: float
    visible_1s: int
    max_gap_s: float
    final_minus_last_ms: float
    refusals: int
    complete: bool
    calls: Counter[str] = field(default_factory=Counter)
    engine_tail_ms: float | None = None  # from our log: model's last token -> the stream's end (engine stages)
    render_tail_ms: float | None = None  # stream's end -> the final platform call returned (rendering, budgets)
    loop_final_ms: float | None = None  # from our log: the last TextDelta the reply loop got -> final call done


def token_times(request: Any, answer: str) -> tuple[float, float]:
    """The model's first and last token as the fake provider wrote them (`RecordedRequest.chunk_times`). The
    nominal times (request + TTFT + (words - 1) / rate) run ahead of the real stream: each 20 ms chunk delay
    oversleeps by about a millisecond under asyncio, ~0.5 s over 375 words, which earlier runs of this bench
    counted as the final's lateness."""
    times = list(getattr(request, "chunk_times", None) or [])
    if times:
        return times[0], times[-1]
    first = request.at + TTFT_S
    return first, first + (len(answer.split()) - 1) / WORDS_PER_S


def measure(timeline: list[tuple[float, int]], first_token: float, last_token: float, calls: Counter[str],
            refusals: int, complete: bool) -> Reveal:
    shown = [(t, c) for t, c in sorted(timeline) if c > 0]
    if not shown:
        return Reveal(float("nan"), 0, float("nan"), float("nan"), refusals, complete, calls)
    first = shown[0][0]
    at_1s = max((c for t, c in shown if t <= first + 1.0), default=0)
    changes = [shown[0]]
    for t, c in shown[1:]:
        if c != changes[-1][1]:
            changes.append((t, c))
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(changes)]
    return Reveal((first - first_token) * 1000, at_1s, max(gaps, default=0.0), (changes[-1][0] - last_token) * 1000,
                  refusals, complete, calls)


def attach_tails(rows: dict[str, Reveal], log_text: str, event: str, key: str) -> None:
    """Copy engine/render tails from the sinks' JSON log lines (`event`, keyed by field `key`) onto `rows`."""
    for line in log_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        row = rows.get(str(record.get(key)))
        if record.get("event") == event and row is not None:
            row.engine_tail_ms = record.get("engine_tail_ms")
            row.render_tail_ms = record.get("render_tail_ms")
            row.loop_final_ms = record.get("final_after_last_token_ms")


def _med_or_na(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.0f} ms" if known else "n/a (not in the log for this scenario or version)"


def report(title: str, rows: list[Reveal]) -> list[str]:
    med = statistics.median
    methods = sorted({m for r in rows for m in r.calls})
    per_method = ", ".join(f"{m} {med([r.calls.get(m, 0) for r in rows]):g}" for m in methods)
    return [
        f"  {title} ({len(rows)} answers; medians)",
        f"    calls per answer by method: {per_method} (total {med([sum(r.calls.values()) for r in rows]):g})",
        f"    first text - model's first token: {med([r.first_minus_token_ms for r in rows]):.0f} ms",
        f"    characters visible 1 s after the first text: {med([r.visible_1s for r in rows]):.0f}",
        f"    largest gap between visible changes: {med([r.max_gap_s for r in rows]):.2f} s "
        f"(worst answer {max(r.max_gap_s for r in rows):.2f} s)",
        f"    final - model's last token: {med([r.final_minus_last_ms for r in rows]):.0f} ms "
        f"(worst answer {max(r.final_minus_last_ms for r in rows):.0f} ms)",
        f"      of which model's last token -> stream end (engine): {_med_or_na([r.engine_tail_ms for r in rows])}, "
        f"stream end -> final call done (rendering): {_med_or_na([r.render_tail_ms for r in rows])}",
        f"      the reply loop's own count (its last TextDelta -> final call done): "
        f"{_med_or_na([r.loop_final_ms for r in rows])}; the rest is the provider's last chunk -> that TextDelta "
        f"(LLM client, engine stages)",
        f"    refusals (429) under the flood emulation: {sum(r.refusals for r in rows)} in total; "
        f"final text complete: {sum(r.complete for r in rows)}/{len(rows)}",
    ]


def ungated_profiles(folder: Path) -> Path:
    """The shipped bot profiles with the evidence gate and follow-up rewriting off, as the platform tests use
    (tests/conftest.py): the benches ask questions the sample knowledge base does not answer, and measure
    streaming, not abstention. Without this every answer is an abstention and no model call happens."""
    import yaml

    from bots.profile_loader import BUILTIN_DIR

    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["retrieval"] = {**(data.get("retrieval") or {}), "abstain": False, "rewrite": "off"}
        (folder / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder
