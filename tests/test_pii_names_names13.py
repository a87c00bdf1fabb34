"""Person names, branch names13: tests/data/pii/names_names13.jsonl (written by the implementer of names13 for
tuning, from issue 19's text: English names in running text and in lower case ("ask john about it", "my name is
sven de vries"), Russian names in all six cases and with patronymics, role + name («курьер Алексей», "agent Maria"),
surnames after «г-н»/«господин»/Mr/Dr, greetings and signatures, mixed-language messages, Dutch, German, Indian,
Chinese pinyin and Spanish names; month abbreviations, field labels, banks, brands and cities as decoys). Rows
marked `known_gap` are misses we know of. Plus hostile inputs."""

from __future__ import annotations

import pytest

from core.pii.options import BotPiiOptions
from tests.support.pii_checks import assert_masked_and_kept, assert_stays_linear, labelled

OPTIONS = BotPiiOptions(languages=("en", "ru"))


@pytest.mark.parametrize("example", labelled("names_names13.jsonl"))
def test_every_name_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)


@pytest.mark.parametrize("chunk", ["курьер Алексей ", "Ольги Николаевны Беловой ", "ивану петрову ", "А.В. Петрову А.В. ",
                                   "Альфа Сбер питер ", "г-н Иванов ", "С уважением, Ирина ", "ask john ",
                                   "Mr Van Dijk ", "передайте максиму ", "Thanks, Priya ",
                                   "Mar 3 Addr number ", "my name is sven de vries ",
                                   "Xu Mingyang ", "agent Maria "])
def test_long_hostile_input_stays_linear(masker, chunk):
    assert_stays_linear(masker, chunk)
