"""Russian typed in Latin letters ("skolko dnei otpuska mne polozheno"): found in the knowledge base as a Cyrillic
question would be, and answered in Russian; English questions, codes and names are left alone."""

from __future__ import annotations

import time
from pathlib import Path

from core.knowledge.build import SAMPLE_DIR, SAMPLE_PUBLIC_DIR, Knowledge
from core.knowledge.options import RetrievalOptions
from core.knowledge.search import Scope
from core.knowledge.stage import RetrievalStage
from core.language import detect_language, reply_language
from core.translit import russian_reading
from tests.fakes.llm_server import FakeLLM
from tests.support.runtime import ask, running

ENGLISH = ("How many vacation days do I get?", "how do I reset my password", "printer status", "test plan",
           "monitor not working", "hotel limit per night in London", "kakapo parrot facts", "The DA office",
           "lol u there", "no", "net", "da", "what is pg_dump", "ERR-4031", "DM-PRO-200 warranty", "Ivan Petrov",
           "privet hedge", "sort the data by status", "plan a test of the bank portal", "kakapo", "pay day",
           "Hola, como estas", "bonjour, je voudrais annuler ma commande", "sudo apt install nginx", "Moskva")


async def _ingested(kb: Knowledge) -> Knowledge:
    await kb.ingest([str(SAMPLE_DIR), str(SAMPLE_PUBLIC_DIR)], "company")
    return kb


async def _top(kb: Knowledge, question: str) -> list[str]:
    return [Path(p.url).name for p in await kb.searcher.search(question, ["company"], Scope("T1"))]


async def test_latin_letter_russian_finds_the_page_a_cyrillic_question_finds(kb: Knowledge) -> None:
    await _ingested(kb)
    cases = [
        ("skolko dnei otpuska mne polozheno", "сколько дней отпуска мне положено", "hr-time-off.md"),  # «ь» dropped
        ("kak sbrosit parol", "как сбросить пароль", "it-password-reset.md"),
        ("kak podkljuchitsja k vpn", "как подключиться к vpn", "it-vpn.md"),  # the "j" scheme
        ("ja zabyl parol', chto delat", "я забыл пароль, что делать", "it-password-reset.md"),  # ' for «ь»
        ("kak otmenit podpisku", "как отменить подписку", "podpiska.md"),  # a Russian page
        ("zakaz ne prishel, chto delat", "заказ не пришёл, что делать", "dostavka.md"),
    ]
    for latin, cyrillic, want in cases:
        top, expected = await _top(kb, latin), await _top(kb, cyrillic)
        assert expected[0] == want, (cyrillic, expected)
        assert top and top[0] == want, (latin, top)


async def test_the_retrieval_stage_answers_a_latin_letter_russian_question_instead_of_abstaining(
        kb: Knowledge) -> None:
    stage = RetrievalStage(await _ingested(kb))
    found = await stage.retrieve("skolko dnei otpuska mne polozheno", ("company",), Scope("T1"), RetrievalOptions())
    assert found.confident, f"the evidence gate judges the Cyrillic reading (confidence {found.confidence})"
    assert Path(found.passages[0].url).name == "hr-time-off.md"


async def test_english_questions_codes_and_names_are_not_read_as_russian(kb: Knowledge) -> None:
    for text in ENGLISH:
        assert russian_reading(text) is None, text
    await _ingested(kb)
    assert (await _top(kb, "How many vacation days do I get?"))[0] == "hr-time-off.md"
    assert (await _top(kb, "What does ERR-4031 mean?"))[0] in ("it-vpn.md", "it-password-reset.md")


async def test_codes_inside_a_latin_letter_russian_question_stay_as_written(kb: Knowledge) -> None:
    reading = russian_reading("chto znachit oshibka ERR-4031 pri vhode, pg_dump ne pri chem")
    assert reading is not None and reading.startswith("что значит ошибка ERR-4031 при")
    assert "pg_dump" in reading
    await _ingested(kb)
    assert (await _top(kb, "chto znachit oshibka ERR-4040"))[0] == "it-vpn.md"


def test_the_message_language_of_latin_letter_russian_is_russian() -> None:
    assert detect_language("skolko dnei otpuska mne polozheno") == "ru"
    assert detect_language("u menya ne rabotaet vpn") == "ru"
    assert detect_language("skolko dnei отпуска") == "ru", "mixed scripts: the Latin part read too"
    assert reply_language("spasibo", "en") == "ru", "one long Russian word is enough"
    assert detect_language("vpn ne rabotaet") == "ru", "«не» counts though the English lexicon lists NE"
    assert detect_language("4to takoe vpn") == "ru", "the digit spelling of «что»"
    for text in ENGLISH:
        assert detect_language(text) in ("en", None), text
    assert reply_language("da", "ru") == "ru" and reply_language("da", "en") == "en", "too short: the fallback"


def test_hostile_input_is_judged_quickly_and_safely() -> None:
    for text in ("", "   ", "\u200b", "👍", "?!", "12345", "'''", "-", "a-", "'s", "x" * 5000):
        assert russian_reading(text) is None, repr(text)
    long_russian = "skolko dnei otpuska mne polozheno v etom godu " * 300  # ~14,000 characters
    started = time.perf_counter()
    reading = russian_reading(long_russian)
    assert reading is not None and reading.startswith("сколько дней отпуска")
    long_english = "how many vacation days do I get this year " * 300
    assert russian_reading(long_english) is None
    gibberish = " ".join(f"zq{n}x" for n in range(2000)) + " " + "qwrtzx " * 500
    assert russian_reading(gibberish) is None
    assert time.perf_counter() - started < 2.0, "a long paste is judged on its first words"


async def test_a_latin_letter_russian_question_gets_a_russian_reply(tmp_path: Path, llm_server: FakeLLM) -> None:
    async with running(tmp_path, llm_server) as rt:
        await ask(rt, "skolko dnei otpuska mne polozheno", locale="en-US")
        system_ru = llm_server.requests[-1].body["messages"][0]["content"]
        await ask(rt, "How many vacation days do I get?", locale="en-US")
        system_en = llm_server.requests[-1].body["messages"][0]["content"]
    assert "in Russian" in system_ru, "answered in Russian, though the client's locale is English"
    assert "in Russian" not in system_en
