"""Numbers and dates of birth, branch nums13: tests/data/pii/numbers_dates_nums13.jsonl (written by the implementer of
nums13 for tuning, from issue 19's text: phones of Russia, the US (Faker's en_US forms with extensions), the UK,
Germany and France; cards in Russian chat forms; INN, SNILS and passports with and without separators; IBANs;
Russian and English dates of birth; order, tracking, invoice and asset numbers, prices, order dates, EAN codes and
bank codes as decoys, some of them Luhn- or INN-valid). Rows marked `known_gap` are misses we know of."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.settings import PiiSettings
from tests.test_pii_recognizers import assert_masked_and_kept

EXAMPLES = [json.loads(line) for line in (Path(__file__).parent / "data" / "pii" / "numbers_dates_nums13.jsonl")
            .read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def masker():
    return Masker(build_analyzer(PiiSettings()), vault=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("example", [
    pytest.param(e, marks=pytest.mark.xfail(strict=True, reason="known gap")) if e.get("known_gap") else e
    for e in EXAMPLES], ids=[e["id"] for e in EXAMPLES])
def test_every_number_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)
