"""What brings a person in (through the fake Bot API, fake Slack and fake LLM): an abstained answer, two 👎 in a
row, a failed tool; each switchable per bot profile. And a Slack DM customer is answered from the inbox too."""

from __future__ import annotations

import asyncio

from core.texts import text
from tests.fakes.llm_server import Reply, ToolCalls
from tests.support.handoff import handoff_profiles, handoff_rig, wait_for

CUSTOMER = 555


def reasons(rig) -> list[str]:
    return [m.text.split("reason: ")[1].split(" ·")[0] for m in rig.inbox_roots()]


async def test_an_abstained_answer_brings_a_colleague_in(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles", abstain=True)
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "What is the airspeed velocity of an unladen swallow?"))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        assert reasons(rig) == ["the bot found nothing reliable"]
        [answer] = rig.texts_to(CUSTOMER)
        assert answer.rstrip().endswith(text("handoff_joining", "en"))


async def ask_and_answer(rig, telegram_api, llm_server, question: str, language: str = "en"):
    from tests.fakes.llm_server import Reply

    llm_server.script("gpt-4o-mini", Reply("Please check the tracking page." if language == "en"
                                           else "Проверьте страницу отслеживания."))
    await rig.tg(telegram_api.message_update(CUSTOMER, question, language=language))
    await rig.settle()
    return telegram_api.chat_messages(CUSTOMER)[-1]


async def thumbs_down(rig, telegram_api, answer) -> None:
    down = answer.reply_markup["inline_keyboard"][0][1]["callback_data"]
    await rig.tg(telegram_api.callback_update(CUSTOMER, answer.message_id, down))
    await rig.settle()


async def test_the_second_thumbs_down_in_a_row_brings_a_person_at_the_press(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        first = await ask_and_answer(rig, telegram_api, llm_server, "Где моя посылка?", "ru")
        await thumbs_down(rig, telegram_api, first)
        second = await ask_and_answer(rig, telegram_api, llm_server, "Она всё ещё не пришла, где она?", "ru")
        assert not rig.inbox_roots(), "one 👎 alone posts nothing"
        await thumbs_down(rig, telegram_api, second)
        # at the press: no further message from the customer needed
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        assert reasons(rig) == ["two 👎 in a row"]
        await telegram_api.wait_for(lambda: rig.texts_to(CUSTOMER)[-1] == text("handoff_opened", "ru"))
        assert len(llm_server.requests_for("gpt-4o-mini")) == 2
        [root] = rig.inbox_roots()
        assert any("Она всё ещё не пришла" in t for t in rig.thread(root.ts)), "the card shows the last turns"
        await thumbs_down(rig, telegram_api, second)  # pressed again: still one handoff
        assert len(rig.inbox_roots()) == 1


async def test_a_thumbs_down_on_an_old_answer_does_not_count(telegram_api, llm_server, redis, monkeypatch,
                                                             tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        one = await ask_and_answer(rig, telegram_api, llm_server, "Where is my parcel?")
        two = await ask_and_answer(rig, telegram_api, llm_server, "Which courier has it?")
        three = await ask_and_answer(rig, telegram_api, llm_server, "When will it arrive?")
        await thumbs_down(rig, telegram_api, three)
        await thumbs_down(rig, telegram_api, one)  # old: not one of the last two answers
        await asyncio.sleep(0.3)
        assert not rig.inbox_roots()
        await thumbs_down(rig, telegram_api, two)  # the last two are now both 👎
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        assert rig.texts_to(CUSTOMER)[-1] == text("handoff_opened", "en")


async def test_a_failed_tool_brings_a_colleague_in_unless_the_profile_switches_it_off(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    for switched_on in (True, False):
        profiles = handoff_profiles(tmp_path / f"profiles-{switched_on}",
                                    triggers={"tool_failed": switched_on, "asked": True})
        await redis.flushdb()
        telegram_api.messages.clear()
        async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
            llm_server.script("gpt-4o-mini", ToolCalls([("ticket_status", {"ticket_id": "DM-9999"})]),
                              Reply("I could not find ticket DM-9999."))
            await rig.tg(telegram_api.message_update(CUSTOMER, "What is the status of my ticket DM-9999?"))
            await rig.settle()
            await wait_for(lambda: any("DM-9999" in t for t in rig.texts_to(CUSTOMER)))
            if switched_on:
                await wait_for(lambda: len(rig.inbox_roots()) == 1)
                assert reasons(rig) == ["a tool failed"]
            else:
                assert not rig.inbox_roots()


async def test_asking_for_a_person_is_answered_by_the_bot_when_the_profile_switches_it_off(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles", triggers={"asked": False})
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        llm_server.script("gpt-4o-mini", Reply("I can help you myself."))
        await rig.tg(telegram_api.message_update(CUSTOMER, "Позовите оператора, пожалуйста"))
        await rig.settle()
        await wait_for(lambda: any("I can help you myself." in t for t in rig.texts_to(CUSTOMER)))
        assert not rig.inbox_roots()


async def test_a_slack_dm_customer_is_answered_from_the_inbox(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.slack_rig.dm("Можно поговорить с живым человеком?", channel="D9", user="U9")
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        [root] = rig.inbox_roots()
        assert "language: ru" in root.text
        await wait_for(lambda: any(m.channel == "D9" and text("handoff_opened", "ru") in m.text
                                   for m in rig.slack.messages.values()))
        await rig.agent_says(root.ts, "Добрый день, я Мария.")
        await wait_for(lambda: any(m.channel == "D9" and m.text == "Добрый день, я Мария."
                                   for m in rig.slack.messages.values()))


async def test_a_ticket_the_bot_creates_appears_in_the_inbox_and_agents_resolve_it(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    from tests.test_telegram_flow import TICKET, proposal_message

    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)]))
        await rig.tg(telegram_api.message_update(CUSTOMER, "My parcel never arrived, open a ticket"))
        await rig.settle()
        proposal, (confirm, _) = proposal_message(telegram_api, CUSTOMER)
        await rig.tg(telegram_api.callback_update(CUSTOMER, proposal.message_id, confirm))
        await rig.settle()
        await wait_for(lambda: any("Ticket DM-1001" in m.text for m in rig.inbox_roots()))
        card = next(m for m in rig.inbox_roots() if "Ticket DM-1001" in m.text)
        assert "Parcel never arrived" not in card.text, "agents see the summary only when personal data is shown"
        await rig.slack_rig.click("handoff_ticket_resolved", "DM-1001", "CINBOX", card.ts, card.ts, user="UAGENT")
        tickets = rig.runtime.tools.tickets
        await wait_for(lambda: "Resolved" in rig.slack.messages[card.ts].text)
        assert (await tickets.get("DM-1001", "telegram", "telegram")).status == "resolved"


async def test_a_question_followed_by_a_request_for_a_person_is_a_knowledge_gap(
        telegram_api, llm_server, redis, monkeypatch, tmp_path):
    import time

    from tests.support.runtime import admin_context

    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await ask_and_answer(rig, telegram_api, llm_server, "Where is my parcel?")
        await ask_and_answer(rig, telegram_api, llm_server, "Which courier has it?")
        await rig.tg(telegram_api.message_update(CUSTOMER, "This doesn't help, I want to talk to a human"))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        asked = await rig.runtime.retrieval.gaps.asked(0, time.time() + 1)
        escalated = {a.question for a in asked if a.escalated}
        assert escalated == {"Which courier has it?"}  # the answer right before the request did not help
        tenant = asked[0].tenant
        report = await rig.runtime.admin.handle(admin_context(rig.runtime, platform="telegram", tenant=tenant),
                                                "gaps")
        assert "Which courier has it?" in report.text and text("gaps_reason_escalated", "en", count=1) in report.text
        assert report.text.count(text("gaps_reason_escalated", "en", count=1)) == 1  # not the earlier question
