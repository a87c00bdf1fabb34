"""Numbers and dates of birth, branch pii14d: tests/data/pii/numbers_dates_pii14.jsonl (written by the implementer of
pii14d for tuning, not held-out): Russian dates of birth in chat forms («д/р 05.03.90», «1985 г.р.», «родился 3 июля
1985»), Russian INN of 10 and 12 digits with and without a label, spaced and dashed, English-labelled INN ("tax id",
"TIN", "INN for the account"), Russian phones (+7, 8, 7, spaced, dashed, bracketed, «тел.», «моб.», whatsapp,
8-800), and decoys: order and request numbers, KPP, OGRN, BIK, amounts, order and delivery dates, tracking numbers.
Rows marked `known_gap` are misses we know of. Plus hostile inputs: 20k characters of each new shape repeated."""

from __future__ import annotations

import pytest

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.options import BotPiiOptions
from core.pii.settings import PiiSettings
from tests.test_pii_recognizers import assert_masked_and_kept, labelled

OPTIONS = BotPiiOptions(languages=("en", "ru"))


@pytest.fixture(scope="module")
def masker():
    return Masker(build_analyzer(PiiSettings()), vault=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("example", labelled("numbers_dates_pii14.jsonl"))
def test_every_number_and_birth_date_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)
