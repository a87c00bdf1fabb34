"""A Telegram customer is answered by a person in the Slack operator inbox, and back to the bot — end to end
through the fake Bot API, fake Slack and fake LLM (real Redis, real PII masking, real stages)."""

from __future__ import annotations

import asyncio

from adapters.slack.inbox import BACK, RESOLVE, TAKE
from core.texts import text
from tests.fakes.llm_server import Reply
from tests.support.handoff import INBOX, handoff_profiles, handoff_rig, wait_for

CUSTOMER = 555


async def test_customer_to_person_and_back_to_the_bot(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "I want to talk to a human, please"))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        [root] = rig.inbox_roots()
        assert "asked for a person" in root.text and "language: en" in root.text
        assert rig.buttons(root.ts) == [TAKE, RESOLVE, BACK]
        assert rig.texts_to(CUSTOMER) == [text("handoff_opened", "en")]
        assert not llm_server.requests_for("gpt-4o-mini"), "the bot did not answer the request for a person"
        await wait_for(lambda: any("I want to talk to a human" in t for t in rig.thread(root.ts)))  # last turns

        await rig.press(TAKE, root.ts)
        await telegram_api.wait_for(lambda: text("handoff_taken", "en") in rig.texts_to(CUSTOMER))
        await wait_for(lambda: "Taken by <@UAGENT>" in rig.slack.messages[root.ts].text)
        assert TAKE not in rig.buttons(root.ts)

        await rig.agent_says(root.ts, "Hi, I'm Maria from support. What's your order number?")
        await telegram_api.wait_for(lambda: "Hi, I'm Maria from support. What's your order number?"
                                    in rig.texts_to(CUSTOMER))

        before = len(rig.texts_to(CUSTOMER))
        await rig.tg(telegram_api.message_update(CUSTOMER, "It is order 77341"))
        await rig.tg(telegram_api.message_update(CUSTOMER, "and it was due on Monday"))
        await rig.settle()
        await wait_for(lambda: sum("order 77341" in t for t in rig.thread(root.ts)) == 1)
        await wait_for(lambda: sum("due on Monday" in t for t in rig.thread(root.ts)) == 1)
        # silent while a person has it: one "a colleague is on it" note, no bot answer
        assert rig.texts_to(CUSTOMER)[before:] == [text("handoff_on_it", "en")]
        assert not llm_server.requests_for("gpt-4o-mini")

        await rig.press(RESOLVE, root.ts)
        await telegram_api.wait_for(lambda: text("handoff_resolved", "en") in rig.texts_to(CUSTOMER))
        await wait_for(lambda: "Back to the bot (resolved)" in rig.slack.messages[root.ts].text)
        assert rig.buttons(root.ts) == []

        llm_server.script("gpt-4o-mini", Reply("You can track it on the Orders page."))
        await rig.tg(telegram_api.message_update(CUSTOMER, "Where can I track my delivery?"))
        await rig.settle()
        await telegram_api.wait_for(lambda: any("You can track it on the Orders page." in t
                                                for t in rig.texts_to(CUSTOMER)))
        # the bot knows what the person said: the handoff is in the conversation memory (masked)
        sent = str(llm_server.requests_for("gpt-4o-mini")[0].body["messages"])
        assert "What's your order number?" in sent and "order 77341" in sent

        registry = rig.runtime.services.metrics.registry
        labels = {"platform": "telegram", "tenant": "telegram"}
        assert registry.get_sample_value("deskmate_handoffs_total", {**labels, "reason": "asked"}) == 1
        assert registry.get_sample_value("deskmate_handoffs_closed_total", {**labels, "how": "resolved"}) == 1
        assert registry.get_sample_value("deskmate_handoff_first_reply_seconds_count", labels) == 1


async def test_slash_human_in_russian_and_hand_back(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        update = telegram_api.message_update(CUSTOMER, "/human", language="ru",
                                             entities=[{"type": "bot_command", "offset": 0, "length": 6}])
        await rig.tg(update)
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        assert rig.texts_to(CUSTOMER) == [text("handoff_opened", "ru")]
        [root] = rig.inbox_roots()
        await rig.agent_says(root.ts, "// internal: checking the CRM first")  # stays in the inbox
        await rig.slack_rig.mention("what is our refund policy?", channel=INBOX, user="UAGENT", thread_ts=root.ts)
        await rig.agent_says(root.ts, "Здравствуйте! Чем помочь?")  # a reply while waiting takes it
        await telegram_api.wait_for(lambda: "Здравствуйте! Чем помочь?" in rig.texts_to(CUSTOMER))
        assert not any("internal" in t for t in rig.texts_to(CUSTOMER))
        await rig.press(BACK, root.ts)
        await telegram_api.wait_for(lambda: text("handoff_handed_back", "ru") in rig.texts_to(CUSTOMER))
        await asyncio.sleep(1)
        await rig.settle()
        assert not llm_server.requests_for("gpt-4o-mini"), "an agent naming the bot in the thread is not answered"


async def test_no_agent_in_time_ticket_and_back_to_the_bot(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles", wait_minutes=0.01)  # 0.6 s
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, sweep_interval_s="0.2") as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "My card 4111 1111 1111 1111 was charged twice"))
        llm_server.script("gpt-4o-mini", Reply("Sorry to hear that. Let me check."))
        await rig.settle()
        await rig.tg(telegram_api.message_update(CUSTOMER, "Can I speak with a real person?"))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        [root] = rig.inbox_roots()
        await telegram_api.wait_for(lambda: text("handoff_timeout_ticket", "en", number="DM-1001")
                                    in rig.texts_to(CUSTOMER), within_s=10)
        ticket = await rig.runtime.tools.tickets.get("DM-1001", "telegram", "telegram")
        assert ticket is not None and ticket.status == "open"
        assert "charged twice" in ticket.description, "the transcript is in the ticket"
        assert "4111" not in ticket.description, "masked"
        await wait_for(lambda: any("Ticket DM-1001" in t for t in rig.thread(root.ts)))
        # an agent moves the ticket from Slack; the customer sees it through ticket_status
        card = next(m for m in rig.slack.messages.values() if m.thread_ts == root.ts and "Ticket DM-1001" in m.text)
        await rig.slack_rig.click("handoff_ticket_pending", "DM-1001", INBOX, card.ts, root.ts, user="UAGENT")
        tickets = rig.runtime.tools.tickets
        for _ in range(200):
            if (await tickets.get("DM-1001", "telegram", "telegram")).status == "pending":
                break
            await asyncio.sleep(0.02)
        assert (await tickets.get("DM-1001", "telegram", "telegram")).status == "pending"
        # back to the bot: the next question is answered
        llm_server.script("gpt-4o-mini", Reply("Refunds take five days."))
        await rig.tg(telegram_api.message_update(CUSTOMER, "How long do refunds take?"))
        await rig.settle()
        await telegram_api.wait_for(lambda: any("Refunds take five days." in t for t in rig.texts_to(CUSTOMER)))
        registry = rig.runtime.services.metrics.registry
        assert registry.get_sample_value("deskmate_handoffs_closed_total",
                                         {"platform": "telegram", "tenant": "telegram", "how": "timeout"}) == 1


async def test_agents_see_masked_personal_data_by_default(telegram_api, llm_server, redis, monkeypatch, tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles) as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "operator please, connect me to an operator"))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        [root] = rig.inbox_roots()
        await rig.tg(telegram_api.message_update(CUSTOMER, "my email is ann.lee@example.com, phone +1 415 555 0134"))
        await rig.settle()
        await wait_for(lambda: len(rig.thread(root.ts)) >= 2)
        relayed = rig.thread(root.ts)[-1]
        assert "ann.lee@example.com" not in relayed and "555 0134" not in relayed
        assert "EMAIL" in relayed
        # masking switched off for this chat (pii off): agents still get a masked text (masked again for them)
        desk = rig.runtime.services.handoff
        h = await desk.store.by_thread(INBOX, root.ts)
        shown = await desk.shown(h, "write to ann.lee@example.com", masked=None)
        assert "ann.lee@example.com" not in shown and "EMAIL" in shown


async def test_agents_see_personal_data_when_the_deployment_allows(telegram_api, llm_server, redis, monkeypatch,
                                                                   tmp_path):
    profiles = handoff_profiles(tmp_path / "profiles")
    async with handoff_rig(telegram_api, llm_server, redis, monkeypatch, profiles, show_pii="true") as rig:
        await rig.tg(telegram_api.message_update(CUSTOMER, "I need a human"))
        await rig.settle()
        await wait_for(lambda: len(rig.inbox_roots()) == 1)
        [root] = rig.inbox_roots()
        await rig.tg(telegram_api.message_update(CUSTOMER, "my email is ann.lee@example.com"))
        await rig.settle()
        await wait_for(lambda: any("ann.lee@example.com" in t for t in rig.thread(root.ts)))
        assert not llm_server.requests_for("gpt-4o-mini"), "nothing reached the model"
