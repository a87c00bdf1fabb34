"""`deskmate gaps`: what the knowledge base could not answer, grouped, counted, masked, per tenant and bot."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bots.cli import build_parser
from bots.settings import load_settings
from core.models import Action
from core.texts import TEXTS
from tests.fakes.llm_server import FakeLLM, Reply
from tests.support.runtime import admin_context, ask, final_of, inbound, running

EMAIL = "anna.petrova@example.com"
PARKING = [  # nothing in the sample knowledge base is about parking
    f"How do I book a parking space at the Berlin office? My email is {EMAIL}",
    "Where can I reserve a parking spot for my car at the Berlin office?",
    "Is there a way to book car parking at the Berlin office for tomorrow?",
    "Как забронировать парковку в берлинском офисе?",
]
FOOTBALL = "Who won the football world cup in 1954?"
ANSWERED = "How do I reset my network password?"


async def gaps(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    args = build_parser().parse_args(["gaps", *argv])
    assert await args.func(args, load_settings()) == 0
    return capsys.readouterr().out


async def test_unanswered_and_voted_down_questions_are_reported_grouped_and_masked(
        tmp_path: Path, llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DESKMATE_PROFILES_DIR")  # the shipped profiles: the evidence gate is on
    monkeypatch.setenv("DESKMATE_DATA_DIR", str(tmp_path / "var"))
    async with running(tmp_path / "var", llm_server, llm={"first_token_timeout_s": 30.0, "timeout_s": 60.0},
                       cache={"judge_model": "openai/judge"}) as rt:
        await rt.knowledge.ensure_sample(rt.profiles["helpdesk"].collections[0])
        for n, question in enumerate(PARKING):
            reply = final_of(await ask(rt, question, user=f"U{n}", channel=f"C-park{n}"))
            lang = "ru" if "парковку" in question else "en"
            assert reply.text.startswith(TEXTS[lang]["kb_nothing_reliable"]), question
        final_of(await ask(rt, FOOTBALL, user="U7", channel="C-ball"))
        final_of(await ask(rt, PARKING[1], user="U8", channel="C-other", tenant="T2"))  # another tenant
        llm_server.script("gpt-4o-mini", Reply("Reset it at passwords.acme.example [1]."))
        answered = final_of(await ask(rt, ANSWERED, user="U9", channel="C-pw"))
        assert not answered.text.startswith(TEXTS["en"]["kb_nothing_reliable"])
        down = Action(kind="feedback_down", ref=answered.reply_id)
        assert await rt.engine.feedback(inbound("", user="U9", channel="C-pw", action=down))
        final_of(await ask(rt, "hi there", user="U10", channel="C-hi"))  # small talk is not a knowledge question
        long = "What is on the canteen menu\n\non Fridays? " + "Please tell me everything. " * 40
        final_of(await ask(rt, long, user="U11", channel="C-long"))

    report = json.loads(await gaps(capsys, "--json"))
    groups = {(g["tenant"], g["bot"]): g for g in report}
    assert set(groups) == {("T1", "helpdesk"), ("T2", "helpdesk")}
    t1 = groups[("T1", "helpdesk")]
    assert t1["collections"] == list(rt.profiles["helpdesk"].collections)
    parking = t1["gaps"][0]
    assert parking["count"] == 4 and parking["reasons"] == {"abstained": 4}, "paraphrases (en, ru) are one group"
    assert parking["closest"] and parking["closest"]["source"]
    assert len(parking["examples"]) == 3
    everything = json.dumps(report, ensure_ascii=False)
    assert EMAIL not in everything and "anna" not in everything.lower(), "questions are kept masked"
    assert any("Berlin office" in e and "<" in e for e in parking["examples"]), parking["examples"]
    by_question = {e: g for g in t1["gaps"] for e in g["examples"]}
    assert by_question[FOOTBALL] is not parking and by_question[FOOTBALL]["count"] == 1
    assert by_question[ANSWERED]["reasons"].get("thumbs_down") == 1
    assert "hi there" not in by_question
    canteen = next(e for e in by_question if e.startswith("What is on the canteen menu on Fridays?"))
    assert len(canteen) <= 200 and "\n" not in canteen, "an example is one short line"
    assert groups[("T2", "helpdesk")]["count"] == 1

    text = await gaps(capsys, "--tenant", "T1")
    assert "Tenant T1 · bot helpdesk" in text and "T2" not in text
    assert "4× — no reliable source (4)" in text and "👎 (1)" in text and EMAIL not in text
    ru = await gaps(capsys, "--tenant", "T1", "--lang", "ru")
    assert "4× — нет надёжного источника (4)" in ru and "ближайший документ" in ru
    assert TEXTS["en"]["gaps_none"] in await gaps(capsys, "--bot", "support")


async def test_a_question_asked_with_masking_off_is_counted_but_its_text_is_not_kept(
        tmp_path: Path, llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DESKMATE_PROFILES_DIR")
    monkeypatch.setenv("DESKMATE_DATA_DIR", str(tmp_path / "var"))
    async with running(tmp_path / "var", llm_server, cache={"judge_model": "openai/judge"}) as rt:
        await rt.knowledge.ensure_sample(rt.profiles["helpdesk"].collections[0])
        if "pii" in rt.flags.locked:
            pytest.skip("PII masking is locked on in this deployment")
        await rt.flags.set("console", "T3", "pii", False, by="test")
        reply = final_of(await ask(rt, PARKING[0], tenant="T3", channel="C-t3"))
        assert reply.text.startswith(TEXTS["en"]["kb_nothing_reliable"])

    report = json.loads(await gaps(capsys, "--json", "--tenant", "T3"))
    assert report[0]["count"] == 1 and report[0]["gaps"][0]["hidden"] == 1
    assert report[0]["gaps"][0]["examples"] == []
    assert EMAIL not in json.dumps(report) and "Berlin" not in json.dumps(report)


async def test_a_workspace_admin_reads_their_own_tenants_gaps_in_the_chat(
        tmp_path: Path, llm_server: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKMATE_PROFILES_DIR")  # the shipped profiles: the evidence gate is on
    async with running(tmp_path / "var", llm_server, llm={"first_token_timeout_s": 30.0, "timeout_s": 60.0}) as rt:
        await rt.knowledge.ensure_sample(rt.profiles["helpdesk"].collections[0])
        for n, question in enumerate(PARKING[:2]):
            final_of(await ask(rt, question, user=f"U{n}", channel=f"C-park{n}", platform="slack"))
        final_of(await ask(rt, FOOTBALL, user="U8", channel="C-other", tenant="T2", platform="slack"))
        final_of(await ask(rt, FOOTBALL, user="U9", channel="C-tg", tenant="T1", platform="telegram"))

        admin = admin_context(rt, role="workspace_admin", platform="slack", tenant="T1")
        reply = await rt.admin.handle(admin, "gaps")
        assert reply.ok and "parking" in reply.text.lower() and "Berlin" in reply.text
        assert EMAIL not in reply.text  # masked when asked, masked in the report
        assert "1954" not in reply.text  # another tenant's and another platform's questions stay theirs
        assert "2×" in reply.text or "2x" in reply.text.replace("×", "x")  # the two parking questions: one group

        russian = await rt.admin.handle(replace(admin, locale="ru"), "gaps 30")
        assert russian.text.startswith("Пробелы в базе знаний")

        member = await rt.admin.handle(admin_context(rt, role="member", platform="slack", tenant="T1"), "gaps")
        assert not member.ok and "parking" not in member.text.lower()
        for bad in ("gaps soon", "gaps 0", "gaps 400", "gaps 7 8"):
            wrong = await rt.admin.handle(admin, bad)
            assert not wrong.ok and "gaps [days]" in wrong.text, bad
        assert "gaps" in (await rt.admin.handle(admin, "help")).text
