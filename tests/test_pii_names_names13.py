"""Person names, branch names13: tests/data/pii/names_names13.jsonl (written by the implementer of names13 for
tuning, from issue 19's text: English names in running text and in lower case ("ask john about it", "my name is
sven de vries"), Russian names in all six cases and with patronymics, role + name («курьер Алексей», "agent Maria"),
surnames after «г-н»/«господин»/Mr/Dr, greetings and signatures, mixed-language messages, Dutch, German, Indian,
Chinese pinyin and Spanish names; month abbreviations, field labels, banks, brands and cities as decoys). Rows
marked `known_gap` are misses we know of. Plus hostile inputs."""

from __future__ import annotations

import time

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


@pytest.mark.parametrize("example", labelled("names_names13.jsonl"))
def test_every_name_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)


@pytest.mark.parametrize("chunk", ["курьер Алексей ", "Ольги Николаевны Беловой ", "ивану петрову ", "А.В. Петрову А.В. ",
                                   "Альфа Сбер питер ", "г-н Иванов ", "С уважением, Ирина ", "ask john ",
                                   "Mr Van Dijk ", "передайте максиму ", "Thanks, Priya ",
                                   "Mar 3 Addr number ", "my name is sven de vries ",
                                   "Xu Mingyang ", "agent Maria "])
def test_long_hostile_input_stays_linear(masker, chunk):
    small = (chunk * (2_000 // len(chunk)))[:2_000]
    large = (chunk * (20_000 // len(chunk)))[:20_000]
    masker.analyze_sync(small, OPTIONS)
    start = time.process_time()
    masker.analyze_sync(small, OPTIONS)
    t_small = time.process_time() - start
    start = time.process_time()
    masker.analyze_sync(large, OPTIONS)
    t_large = time.process_time() - start
    # 10x the text: well under 100x the time (a quadratic pattern), with room for a loaded machine
    assert t_large < 20.0 and t_large < 40 * max(t_small, 0.01), (t_small, t_large)
