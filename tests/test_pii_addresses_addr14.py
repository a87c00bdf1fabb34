"""Street addresses, branch addr14: tests/data/pii/addresses_addr14.jsonl (written by the implementer of addr14 for
tuning: Russian streets named after an address word («по адресу Кирова 3»), garden plots («СНТ Ромашка, уч. 45»),
lower-case US streets with ordinals ("15 e 3rd ave apt 12"), a city and state after the flat ("boston ma"),
transliterated Russian streets with an English type ("Tverskaya st. 7"); quantities, versions, products and words
after an address as decoys). Rows marked `known_gap` are misses we know of. Plus hostile inputs."""

from __future__ import annotations

import time

import pytest

from core.pii.addresses import find_addresses
from tests.support.pii_checks import assert_masked_and_kept, labelled


@pytest.mark.parametrize("example", labelled("addresses_addr14.jsonl"))
def test_every_address_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)


@pytest.mark.parametrize("piece", ["по адресу Кирова 3, ", "СНТ Ромашка, уч. 45 ", "15 e 3rd ave apt 12 ",
                                   "Tverskaya st. 7, ", "apt 2 boston ma ", "адрес: адрес: Мира ", "Tverskaya 7, apt ",
                                   "nevsky 28 flat flat ", "Dostoevskaya 3 apartment "])
def test_long_hostile_input_stays_linear(piece):
    text = piece * (20_000 // len(piece))
    started = time.process_time()
    find_addresses(text)
    assert time.process_time() - started < 2.0, piece
