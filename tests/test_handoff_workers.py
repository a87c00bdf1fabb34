"""Two workers (two handoff desks, each with its own Slack and Telegram clients) on one real Redis: a message is
relayed once whichever worker gets it, one agent wins a Take, one worker handles a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.inbox import SlackInbox
from adapters.telegram.handoff import TelegramCustomerChannel
from adapters.telegram.platform import build_bot
from adapters.telegram.settings import TelegramSettings
from bots.profile_loader import load_profiles
from core.audience import Audience
from core.handoff.desk import HandoffDesk
from core.handoff.files import FileRef
from core.handoff.settings import HandoffSettings
from core.models import Inbound
from core.texts import text
from core.tools.tickets import TicketStore
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import TOKEN

CUSTOMER = 555
INBOX = "CINBOX"


def customer_message(body: str, message_id: str) -> Inbound:
    who = Audience(tenant="telegram", user="42", channel=str(CUSTOMER))
    return Inbound(platform="telegram", bot="support", tenant="telegram", channel=str(CUSTOMER), user="42",
                   text=body, message_id=message_id, is_private=True, audience=who,
                   extras={"chat_id": CUSTOMER, "chat_type": "private"})


@asynccontextmanager
async def workers(redis, telegram_api, slack: FakeSlack, n: int = 2) -> AsyncIterator[list[HandoffDesk]]:
    profiles = load_profiles(None)
    settings = HandoffSettings(inbox_channel=INBOX, show_pii=True)
    async with AsyncExitStack() as stack:
        desks = []
        for _ in range(n):
            bot = build_bot(TelegramSettings(token=SecretStr(TOKEN), api_url=telegram_api.base_url))
            stack.push_async_callback(bot.session.close)
            desk = HandoffDesk(redis, settings, profiles, tickets=TicketStore(redis))
            desk.set_inbox(SlackInbox(AsyncWebClient(token="xoxb-test", base_url=slack.base_url), INBOX))
            desk.add_customer_channel("telegram", TelegramCustomerChannel(bot))
            desks.append(desk)
        yield desks


async def test_two_workers_never_relay_a_message_twice(redis, telegram_api):
    async with FakeSlack() as slack, workers(redis, telegram_api, slack) as (one, two):
        opened = await one.open(customer_message("I need a human", "m1"), reason="asked", language="en",
                                history=[])
        assert opened is not None
        assert await two.open(customer_message("human!!", "m2"), reason="asked", language="en", history=[]) is None
        root = opened.inbox_ts

        # the same agent reply delivered to both workers (a Slack retry on another worker): the customer gets it once
        results = await asyncio.gather(*(d.from_agent(INBOX, root, "1700000000.000900", "UAGENT", "Hello from Maria")
                                         for d in (one, two, one, two)))
        assert sorted(results) == [False, False, False, True]
        assert [m.text for m in telegram_api.chat_messages(CUSTOMER)] == ["Hello from Maria"]

        # the same customer message handled by both workers (a redelivered queue entry): one post in the thread
        h = await one.active(opened.conversation)
        assert h is not None and h.status == "with_person" and h.taken_by == "UAGENT"
        message = customer_message("My order is 77341", "555:900")
        results = await asyncio.gather(one.from_customer(h, message, None), two.from_customer(h, message, None))
        assert sorted(results) == [False, True]
        posted = [m for m in slack.messages.values() if m.thread_ts == root and "77341" in m.text]
        assert len(posted) == 1


async def test_one_agent_wins_take_and_one_worker_handles_the_timeout(redis, telegram_api):
    async with FakeSlack() as slack, workers(redis, telegram_api, slack) as (one, two):
        first = await one.open(customer_message("operator", "m1"), reason="asked", language="en", history=[])
        assert first is not None
        taken = await asyncio.gather(one.take(INBOX, first.inbox_ts, "UANN"), two.take(INBOX, first.inbox_ts, "UBOB"))
        assert sum(t is not None for t in taken) == 1

        other = customer_message("talk to a person", "m3").model_copy(update={"channel": "556", "user": "43"})
        second = await one.open(other, reason="asked", language="en", history=[])
        assert second is not None
        later = second.opened_at + second.wait_s + 1
        done = await asyncio.gather(one.sweep(later), two.sweep(later))
        assert sum(done) == 1, "the waiting handoff timed out once"
        assert await one.tickets.count() == 1
        assert await one.active(second.conversation) is None
        assert (await one.active(first.conversation)).status == "with_person", "the taken one is untouched"


async def test_report_shows_handoffs_and_tickets_per_tenant_and_only_the_asked_tenant(redis, telegram_api, capsys,
                                                                                      tmp_path, monkeypatch):
    import csv
    import io

    from bots.settings import load_settings
    from tests.test_ops_feedback import run_report

    async with FakeSlack() as slack, workers(redis, telegram_api, slack, n=1) as (desk,):
        h = await desk.open(customer_message("human please", "m1"), reason="asked", language="en", history=[])
        await desk.from_agent(INBOX, h.inbox_ts, "1700000000.000901", "UAGENT", "Hi!")
        await desk.close(INBOX, h.inbox_ts, "UAGENT", "resolved")
        other = customer_message("operator", "m2").model_copy(update={"tenant": "acme", "channel": "777"})
        await desk.open(other, reason="asked", language="en", history=[])
        await desk.tickets.create(platform="telegram", tenant="telegram", user="42", conversation="c", summary="s",
                                  description="d", priority="normal", category="other")
    path = redis.connection_pool.connection_kwargs["path"]
    monkeypatch.setenv("DESKMATE_REDIS_URL", f"unix://{path}")
    settings = load_settings(data_dir=tmp_path)
    out = await run_report(settings, capsys, what="handoffs", format="csv")
    rows = {r["tenant"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"telegram|telegram", "telegram|acme"}
    mine = rows["telegram|telegram"]
    assert (mine["handoffs"], mine["resolved"], mine["open"], mine["tickets_open"]) == ("1", "1", "0", "1")
    assert mine["first_reply_median_s"] != "-"
    assert rows["telegram|acme"]["open"] == "1"
    only = await run_report(settings, capsys, what="handoffs", format="csv", tenant="acme")
    assert [r["tenant"] for r in csv.DictReader(io.StringIO(only))] == ["telegram|acme"]
    table = await run_report(settings, capsys, tenant="telegram")
    assert "Human handoffs and tickets" in table and "acme" not in table


def test_transcripts_show_only_what_the_conversations_audience_saw():
    from core.handoff.desk import visible_turns
    from core.tools.escalation import conversation_summary

    history = [
        {"role": "system", "content": "SECRET INSTRUCTIONS: never reveal the discount code"},
        {"role": "user", "content": "Where is my refund?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "1", "function": {"name": "search_knowledge"}}]},
        {"role": "tool", "content": "[1] internal HR page: salary bands for 2026"},
        {"role": "assistant", "content": "Refunds take five days."},
    ]
    assert visible_turns(history, 10) == [("user", "Where is my refund?"), ("assistant", "Refunds take five days.")]
    note = conversation_summary("asked", "", history, platform="telegram", user="42", conversation="c")
    assert "SECRET" not in note and "salary" not in note and "Refunds take five days." in note


async def test_admin_stats_count_only_the_callers_tenant(redis, telegram_api):
    async with FakeSlack() as slack, workers(redis, telegram_api, slack, n=1) as (desk,):
        await desk.open(customer_message("human please", "m1"), reason="asked", language="en", history=[])
        other = customer_message("operator", "m2").model_copy(update={"tenant": "acme", "channel": "777"})
        await desk.open(other, reason="asked", language="en", history=[])
        mine = await desk.stats("telegram", "telegram")
        assert mine["stat_handoffs"][1] == {"total": 1, "open": 1, "resolved": 0}
        assert await desk.stats("slack", "T1") == {}


async def test_a_late_reply_in_an_old_thread_never_reaches_a_newer_handoff(redis, telegram_api):
    async with FakeSlack() as slack, workers(redis, telegram_api, slack, n=1) as (desk,):
        old = await desk.open(customer_message("human please", "m1"), reason="asked", language="en", history=[])
        await desk.close(INBOX, old.inbox_ts, "UAGENT", "resolved")
        new = await desk.open(customer_message("a person again please", "m2"), reason="asked", language="en",
                              history=[])
        assert new is not None and new.inbox_ts != old.inbox_ts
        before = len(telegram_api.chat_messages(CUSTOMER))
        assert not await desk.from_agent(INBOX, old.inbox_ts, "1700000000.000950", "UAGENT", "stale reply")
        assert await desk.take(INBOX, old.inbox_ts, "UAGENT") is None
        assert len(telegram_api.chat_messages(CUSTOMER)) == before
        assert await desk.from_agent(INBOX, new.inbox_ts, "1700000000.000951", "UAGENT", "fresh reply")


async def test_an_idle_handoff_resolves_itself(redis, telegram_api):

    async with FakeSlack() as slack, workers(redis, telegram_api, slack) as (one, two):
        h = await one.open(customer_message("human please", "m1"), reason="asked", language="en", history=[])
        taken = await one.take(INBOX, h.inbox_ts, "UAGENT")
        assert await one.sweep(taken.last_activity + taken.idle_s - 5) == 0, "not yet"
        later = taken.last_activity + taken.idle_s + 1
        assert sum(await asyncio.gather(one.sweep(later), two.sweep(later))) == 1
        assert await one.active(h.conversation) is None
        assert [m.text for m in telegram_api.chat_messages(CUSTOMER)][-1] == text("handoff_idle", "en")
        assert await one.tickets.count() == 0, "an idle handoff was answered: no ticket"


async def test_two_workers_deliver_an_agents_file_once(redis, telegram_api):
    async with FakeSlack() as slack, workers(redis, telegram_api, slack) as (one, two):
        opened = await one.open(customer_message("I need a human", "m1"), reason="asked", language="en", history=[])
        assert opened is not None
        entry = slack.files.add_file("invoice.pdf", b"%PDF-1.7" + bytes(5000), "application/pdf")
        ref = FileRef(name=entry["name"], ref=entry["url_private_download"], size=entry["size"],
                      mime_type=entry["mimetype"])
        results = await asyncio.gather(*(d.from_agent(INBOX, opened.inbox_ts, "1700000000.000990", "UAGENT", "", [ref])
                                         for d in (one, two, one, two)))
        assert sorted(results) == [False, False, False, True]
        assert len(telegram_api.calls_of("sendDocument")) == 1, "one worker sent it, once"
        assert [m.file.filename for m in telegram_api.chat_messages(CUSTOMER) if m.file] == ["invoice.pdf"]


async def test_two_thumbs_down_pressed_at_once_on_two_workers_open_one_handoff(redis, telegram_api):
    from core.handoff import votes
    from core.handoff.votes import DownvoteTrigger
    from core.models import Action
    from core.ops.feedback import FeedbackStore

    async with FakeSlack() as slack, workers(redis, telegram_api, slack) as desks:
        conversation = customer_message("x", "m0").conversation_key
        for reply_id in ("r1", "r2"):
            await votes.remember(redis, conversation, reply_id, "ru")
        stores = []
        for desk in desks:
            store = FeedbackStore(redis)
            store.on_recorded.append(DownvoteTrigger(desk, redis, store).on_vote)
            stores.append(store)
        presses = [customer_message("", f"cb{i}").model_copy(update={"action": Action(kind="feedback_down", ref=r)})
                   for i, r in enumerate(("r1", "r2"))]
        for _ in range(3):  # the race either way: each worker records its press and checks
            await asyncio.gather(stores[0].record(presses[0]), stores[1].record(presses[1]))
        roots = [m for m in slack.channel_messages(INBOX) if not m.thread_ts]
        assert len(roots) == 1
        assert [m.text for m in telegram_api.chat_messages(CUSTOMER)] == [text("handoff_opened", "ru")]
