"""Secrets, dates of birth, IPs and Russian phones: the decisions that tests/data/pii/secrets_dates_numbers_pii6.jsonl
documents (written by the implementer of branch pii6 for tuning; its rows run in tests/test_pii_recognizers.py):
UUIDs, named digests and image data stay visible, a secret inside a URL or wrapped over two lines does not."""

from __future__ import annotations

import time

import pytest

from core.pii.masker import Masker
from core.pii.options import BotPiiOptions

OPTIONS = BotPiiOptions(languages=("en", "ru"))


def masked(masker: Masker, text: str) -> list[str]:
    _, results = masker.analyze_sync(text, OPTIONS)
    return [text[r.start:r.end] for r in results]


def test_a_token_in_a_url_is_masked_and_the_url_stays_readable(masker):
    text = "open https://app.example.com/reset?user=42&token=Qm9iLX7kLp2sXz9vTq4WnR8a&lang=en please"
    assert masked(masker, text) == ["Qm9iLX7kLp2sXz9vTq4WnR8a"]


def test_a_uuid_after_a_secret_label_is_masked_but_an_order_uuid_is_not(masker):
    assert masked(masker, "order 550e8400-e29b-41d4-a716-446655440000 is late") == []
    assert masked(masker, "api_key: 550e8400-e29b-41d4-a716-446655440000") == ["550e8400-e29b-41d4-a716-446655440000"]


def test_an_unnamed_hex_digest_is_still_masked(masker):
    # 32+ hex characters without "commit"/"sha256"... may be an API secret (Twilio, Mailgun): fail closed.
    assert masked(masker, "use 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b for the webhook") == [
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"]


def test_a_wrapped_key_is_one_span(masker):
    text = "pasted: ghp_16C7e42F292c6912E7710c838347Ae178B4a\nX9z0 and that's it"
    assert masked(masker, text) == ["ghp_16C7e42F292c6912E7710c838347Ae178B4a"]  # "X9z0" is too short to be a tail
    text = "pasted: ghp_16C7e42F292c6912E7710c838347Ae178B4a\nQ7rS9tU1vW3x\nthanks"
    assert masked(masker, text) == ["ghp_16C7e42F292c6912E7710c838347Ae178B4a\nQ7rS9tU1vW3x"]


@pytest.mark.parametrize("chunk", ["password for x.y ", "a&b=c&" * 3, "born in Ohio 12.03.1985 ", "п. 1.2.3.4 ",
                                   "заказ 8 912 345 67 89 ", "sk_live_" + "A1" * 10 + "\n"])
def test_hostile_repetition_stays_linear(masker, chunk):
    text = (chunk * (10_000 // len(chunk)))[:10_000]
    start = time.process_time()
    masker.analyze_sync(text, OPTIONS)
    assert time.process_time() - start < 3.0


def test_a_long_labelled_value_is_masked_whole(masker):
    value = "a1" * 400
    assert masked(masker, f"token: {value} thanks") == [value]


@pytest.mark.parametrize(("text", "value"), [
    ("я родился 5 марта, скидку ко дню рождения не дали", "5 марта"),
    ("в анкете указал д.р. 05.03, а система просит год", "05.03"),
    ("my birthday is March 5 and the promo code did not apply", "March 5"),
])
def test_a_birthday_without_a_year_right_after_its_cue_is_masked(masker, text, value):
    assert value in masked(masker, text)


def test_a_yearless_date_that_is_not_a_birthday_stays(masker):
    assert masked(masker, "день рождения у меня 17 ноября, заказ оформлен 03.11") == ["17 ноября"]
