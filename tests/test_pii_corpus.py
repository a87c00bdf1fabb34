"""Detection quality on a generated corpus: Faker values (en_US, ru_RU) inserted into support messages.

Recall per type = share of inserted values that do not survive in clear (fully covered by masked spans).
Precision = share of masked spans that overlap an inserted value (the templates carry order numbers,
prices, dates, versions and city names that must stay visible to the model).
"""

from __future__ import annotations

import random
import string
from collections import defaultdict

import pytest
from faker import Faker

from core.pii.analyzer import build_analyzer
from core.pii.masker import Masker
from core.pii.options import BotPiiOptions
from core.pii.settings import PiiSettings

EN = [
    "Hi, this is {PERSON}. My email is {EMAIL_ADDRESS} and my phone is {PHONE_NUMBER}.",
    "Please refund order #{order} (${price}) to my card {CREDIT_CARD}.",
    "{PERSON} here, wire it to IBAN {IBAN_CODE}, reference INV-{order}, due {date}.",
    "Our server {IP_ADDRESS} keeps dropping connections since version {version}.",
    "The API key {API_KEY} stopped working on {date}, can you check?",
    "Our app connects with {URL_CREDENTIALS} and fails after the {version} upgrade.",
    "Can you call me back at {PHONE_NUMBER}? Ticket {order}, office in {city}.",
    "Forward the invoice for {price} USD to {EMAIL_ADDRESS}, thanks, {PERSON}",
    "I spoke with {PERSON} yesterday about order {order}; nothing happened since {date}.",
]
RU = [
    "Здравствуйте, меня зовут {PERSON}. Мой телефон {PHONE_NUMBER}, почта {EMAIL_ADDRESS}.",
    "Паспорт {RU_PASSPORT}, ИНН {RU_INN}, прошу обновить данные в заказе {order}.",
    "Мой СНИЛС {RU_SNILS}, заказ №{order} от {date}, сумма {price} руб.",
    "Оплатил картой {CREDIT_CARD} сумму {price} руб., но заказ {order} не пришёл.",
    "Сервер {IP_ADDRESS} недоступен после обновления до версии {version}, токен: {API_KEY}",
    "Перезвоните, пожалуйста, на {PHONE_NUMBER}, я в {city} до {date}.",
    "Напишите на {EMAIL_ADDRESS}, ИНН организации {RU_INN}.",
]


def _api_key(rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    return rng.choice([
        "sk-proj-" + "".join(rng.choices(alnum, k=40)),
        "ghp_" + "".join(rng.choices(alnum, k=36)),
        "xoxb-" + "-".join("".join(rng.choices(string.digits, k=12)) for _ in range(2)) + "-"
        + "".join(rng.choices(alnum, k=24)),
        "AKIA" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16)),
    ])


def _value(fake: Faker, rng: random.Random, slot: str) -> str:
    match slot:
        case "PERSON":  # first + last name: titles (Dr., PhD) are not personal data
            return rng.choice([f"{fake.first_name()} {fake.last_name()}", f"{fake.last_name()} {fake.first_name()}"]
                              if fake.locales[0] == "ru_RU" else [f"{fake.first_name()} {fake.last_name()}"])
        case "EMAIL_ADDRESS":
            return fake.email()
        case "PHONE_NUMBER":  # without US extensions ("x123"): an extension alone identifies nobody
            return fake.phone_number().split("x")[0]
        case "CREDIT_CARD":  # the networks people pay with (Faker's ru_RU "maestro"/"unionpay" are not real ranges)
            kinds = ["visa", "mastercard", "mir"] if fake.locales[0] == "ru_RU" else ["visa16", "mastercard", "amex", "discover"]
            return fake.credit_card_number(card_type=rng.choice(kinds))
        case "IBAN_CODE":
            return fake.iban()
        case "IP_ADDRESS":
            return fake.ipv4_public()
        case "API_KEY":
            return _api_key(rng)
        case "URL_CREDENTIALS":
            return f"postgres://{fake.user_name()}:{fake.password(special_chars=False)}@{fake.domain_name()}:5432/app"
        case "RU_PASSPORT":
            return fake.passport_number()
        case "RU_INN":
            return rng.choice([fake.individuals_inn, fake.businesses_inn])()
        case "RU_SNILS":
            return fake.snils()
        case "order":
            return str(rng.randint(10_000, 999_999))
        case "price":
            return f"{rng.randint(5, 5000)}.{rng.randint(0, 99):02d}"
        case "date":
            return fake.date()
        case "version":
            return f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        case "city":
            return fake.city()
    raise KeyError(slot)


def corpus(n_per_locale: int = 120) -> list[tuple[str, str, list[tuple[str, int, int]]]]:
    """(locale, text, [(entity type, start, end)]) — the inserted values are the ground truth."""
    rng = random.Random(20240601)
    out = []
    for locale, templates in (("en_US", EN), ("ru_RU", RU)):
        fake = Faker(locale)
        fake.seed_instance(rng.randint(0, 10**9))
        for i in range(n_per_locale):
            template = templates[i % len(templates)]
            text, truth, pos = "", [], 0
            for literal, slot, _, _ in string.Formatter().parse(template):
                text += literal
                if slot:
                    value = _value(fake, rng, slot)
                    if slot.isupper():
                        truth.append((slot, len(text), len(text) + len(value)))
                    text += value
                pos += 1
            out.append((locale, text, truth))
    return out


@pytest.fixture(scope="module")
def metrics():
    masker = Masker(build_analyzer(PiiSettings()), vault=None)  # type: ignore[arg-type]
    options = BotPiiOptions(languages=("en", "ru"))
    found_by_type: dict[tuple[str, str], list[bool]] = defaultdict(list)
    spans = correct = 0
    for locale, text, truth in corpus():
        _, results = masker.analyze_sync(text, options)
        covered = set()
        for r in results:
            covered.update(range(r.start, r.end))
        for etype, start, end in truth:
            found_by_type[(locale, etype)].append(all(i in covered for i in range(start, end)))
        for r in results:
            spans += 1
            correct += any(r.start < end and start < r.end for _, start, end in truth)
    recall = {key: sum(v) / len(v) for key, v in found_by_type.items()}
    return recall, correct / spans


def test_corpus_is_big_enough_and_bilingual():
    messages = corpus()
    assert len(messages) >= 200
    assert {loc for loc, _, _ in messages} == {"en_US", "ru_RU"}


# Thresholds: pattern+checksum types must essentially never leak (>= 95%). Phones are fuzzier (Faker
# writes US numbers in unassigned area codes, which only our shape pattern catches; bare 10-digit runs
# are not masked as phones): >= 90%. Names come from the small English NER model: >= 80%. Russian names need a Russian spaCy
# model (none installs offline), so they are reported but not asserted. Precision >= 90%.
PATTERN_TYPES = ("EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "API_KEY", "URL_CREDENTIALS",
                 "RU_PASSPORT", "RU_INN", "RU_SNILS")


def test_recall_per_entity_type(metrics):
    recall, precision = metrics
    print("\nrecall:", {f"{loc}/{t}": round(v, 3) for (loc, t), v in sorted(recall.items())},
          "precision:", round(precision, 3))
    for (locale, etype), value in recall.items():
        if etype in PATTERN_TYPES:
            assert value >= 0.95, (locale, etype, value)
        elif etype == "PHONE_NUMBER":
            assert value >= 0.9, (locale, etype, value)
        elif etype == "PERSON" and locale == "en_US":
            assert value >= 0.8, (locale, etype, value)


def test_precision(metrics):
    _, precision = metrics
    assert precision >= 0.9
