"""Person names, branch names14: tests/data/pii/names_names14.jsonl (written by the implementer of names14 for
tuning): given names that a filter word list also held ("Ben", "Das", "Ma", "June"), Chinese names in pinyin
("Zhang Wei", "Xu Ming", "Li Na"), names after "I'm", "it's", "this is", "my name's", "ask for", "cc", "ping",
lower-case names in chat ("talk to sarah"), given names of many countries ("Gurpreet", "Willemijn", "Iñigo",
"Siobhán", "Oluwaseun", "Aroha", "Bjørn", "Zoë"), compound names and particles ("José María", "Jean-Luc",
"O'Brien", "van der Berg", "de la Cruz", "Smith-Jones"), initials ("J. Smith", "Smith J."), signatures and
roles ("courier Ahmed"). Decoys: products, brands, capitalised common words, job titles, "Support", cities.
Rows marked `known_gap` are misses we know of. Plus hostile inputs."""

from __future__ import annotations

import pytest

from core.pii.options import BotPiiOptions
from tests.support.pii_checks import assert_masked_and_kept, assert_stays_linear, labelled

OPTIONS = BotPiiOptions(languages=("en", "ru"))


@pytest.mark.parametrize("example", labelled("names_names14.jsonl"))
def test_every_name_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)


@pytest.mark.parametrize("chunk", ["I'm Zhang Wei ", "talk to sarah ", "cc Iñigo ", "ping siobhan ", "J. Smith ",
                                   "Smith J. ", "Thanks,\nPriya\n", "courier Ahmed ", "Ik ben Ben ",
                                   "it's chidi ", "de la Cruz ", "O'Brien-McAllister ", "A. B. C. D. ",
                                   "Xu Li Na Wang ", "this is ", "mark from accounting ", "Ewa Kowalska from the it "])
def test_long_hostile_input_stays_linear(masker, chunk):
    assert_stays_linear(masker, chunk)
