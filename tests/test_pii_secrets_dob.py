"""Secrets and dates of birth, branch pii9: tests/data/pii/secrets_dob_pii9.jsonl (written by the implementer of
pii9 for tuning, from the issue's description: key and token shapes, passwords after a label, the entropy
fallback, Russian dates of birth in every written form, and their decoys), plus hostile inputs."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from core.pii.masker import Masker
from core.pii.options import BotPiiOptions
from tests.support.pii_checks import assert_masked_and_kept, assert_stays_linear

EXAMPLES = [json.loads(line) for line in (Path(__file__).parent / "data" / "pii" / "secrets_dob_pii9.jsonl")
            .read_text(encoding="utf-8").splitlines()]
OPTIONS = BotPiiOptions(languages=("en", "ru"))


def spans(masker: Masker, text: str) -> list[tuple[str, str]]:
    _, results = masker.analyze_sync(text, OPTIONS)
    return [(r.entity_type, text[r.start:r.end]) for r in results]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["id"] for e in EXAMPLES])
def test_every_value_masked_and_decoys_kept(masker, example):
    assert_masked_and_kept(masker, example)


def test_a_date_is_not_a_phone_number(masker):
    # libphonenumber reads 05.03.2024 as a German number; with a cue word it would even pass the threshold
    assert spans(masker, "доставка 05.03.2024, телефон курьера не отвечает") == []
    assert spans(masker, "звоните +7 912 345-67-89 после 05.03.2024") == [("PHONE_NUMBER", "+7 912 345-67-89")]


def test_and_others_is_no_birth_cue_but_dr_is(masker):
    assert spans(masker, "справки и др. 12.03.2024 отправили") == []
    assert spans(masker, "ДР 12.03.1990") == [("DATE_OF_BIRTH", "12.03.1990")]


def test_a_digest_named_a_few_words_before_stays_but_not_after_a_secret_word(masker):
    digest = "9e107d9d372bb6826bd81d3542a419d6"
    assert spans(masker, f"the md5 of the export file is {digest}") == []
    assert spans(masker, f"the md5 of the secret key is {digest}") == [("API_KEY", digest)]


@pytest.mark.parametrize("length", [8, 12, 16, 20, 24, 32, 40, 64, 128, 1000])
def test_random_strings_of_every_length(masker, length):
    """Random tokens from 16 characters up are masked whole (one span); short ones are left alone."""
    rnd = random.Random(length)
    for alphabet in (string.ascii_letters + string.digits, string.ascii_lowercase + string.digits):
        word = "".join(rnd.choice(alphabet) for _ in range(length))
        if not (any(c.isdigit() for c in word) and any(c.isalpha() for c in word)):
            continue
        found = [value for kind, value in spans(masker, f"here it is: {word} thanks") if kind == "API_KEY"]
        if length >= 24 or (length >= 16 and alphabet[0] == "a" and alphabet[26] == "A"):
            assert found == [word], (alphabet[:30], word)
        elif length <= 8:
            assert found == []


@pytest.mark.parametrize("chunk", ["пароль от почты ", "дата рождения 1990 ", "05.03.2024 ", "123456:" + "A" * 10,
                                   "-----BEGIN RSA PRIVATE KEY-----\n" + "QUJD" * 4 + "\n", "md5 of the file ",
                                   "born 5 марта 1990 и др. ", "a1" * 30 + " "])
def test_long_hostile_input_stays_linear(masker, chunk):
    assert_stays_linear(masker, chunk, cpu_limit_s=3.0)
