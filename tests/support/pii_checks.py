"""What the own-set PII tests share: loading a labelled set under tests/data/pii, checking one row against the
masker, and the long-hostile-input check (the `masker` fixture itself is in conftest.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.pii.masker import Masker
from core.pii.options import BotPiiOptions

DATA = Path(__file__).parent.parent / "data" / "pii"
OPTIONS = BotPiiOptions(languages=("en", "ru"))


def labelled(*names: str) -> list:
    """The rows of own labelled sets under tests/data/pii as pytest params; rows marked `known_gap` are strict
    xfails (a known miss that starts to pass fails the run, so the mark is taken off)."""
    rows = [json.loads(line) for name in names for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return [pytest.param(e, id=e["id"], marks=pytest.mark.xfail(strict=True, reason="known gap")
                         if e.get("known_gap") else ()) for e in rows]


def assert_masked_and_kept(masker: Masker, example: dict) -> None:
    """Every labelled value of `example` is covered by masked spans; no decoy is touched."""
    text = example["text"]
    _, results = masker.analyze_sync(text, OPTIONS)
    covered = {i for r in results for i in range(r.start, r.end)}
    for entity in example["entities"]:
        start = text.index(entity["value"])
        assert all(i in covered for i in range(start, start + len(entity["value"]))), (entity, results)
    for decoy in example["decoys"]:
        start = text.index(decoy)
        assert not covered & set(range(start, start + len(decoy))), (decoy, results)


def assert_stays_linear(masker: Masker, chunk: str, cpu_limit_s: float = 20.0) -> None:
    """20,000 characters of `chunk` repeated cost well under 100x what 2,000 do (a pattern that backtracks
    quadratically would): at most 40x, and under `cpu_limit_s` of CPU, with room for a loaded machine."""
    small = (chunk * (2_000 // len(chunk) + 1))[:2_000]
    large = (chunk * (20_000 // len(chunk) + 1))[:20_000]
    masker.analyze_sync(small, OPTIONS)  # warm
    start = time.process_time()
    masker.analyze_sync(small, OPTIONS)
    t_small = time.process_time() - start
    start = time.process_time()
    masker.analyze_sync(large, OPTIONS)
    t_large = time.process_time() - start
    assert t_large < cpu_limit_s and t_large < 40 * max(t_small, 0.01), (t_small, t_large)
