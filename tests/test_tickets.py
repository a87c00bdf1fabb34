"""Tickets are shared in Redis by every worker, change status, and reach Zendesk in its own wire format (a local
fake of its Tickets API) through a configurable base URL."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from core.audience import Audience
from core.models import Inbound
from core.tools.builtins import TicketStatusArgs, ticket_status
from core.tools.context import ToolContext
from core.tools.services import ToolServices
from core.tools.settings import ToolsSettings
from core.tools.ticket_connectors import ZendeskConnector
from core.tools.tickets import TicketStore
from tests.fakes.zendesk_api import FakeZendesk

NEW = {"platform": "telegram", "tenant": "telegram", "user": "42", "conversation": "telegram:telegram:42:-",
       "summary": "Parcel never arrived", "description": "Ordered on Monday, tracking stuck.", "priority": "high",
       "category": "other"}


@pytest.fixture
async def zendesk():
    async with FakeZendesk() as fake:
        yield fake


async def test_a_ticket_reaches_zendesk_and_its_status_follows(redis, zendesk):
    store = TicketStore(redis, connectors=[ZendeskConnector(zendesk.base_url, "bot@acme.test", SecretStr("zd-token"),
                                                            attempts=1)])
    ticket = await store.create(**NEW)
    await store.drain()
    [(method, path, body)] = zendesk.requests
    assert (method, path) == ("POST", "/api/v2/tickets.json")
    assert body["ticket"]["subject"] == "[DM-1001] Parcel never arrived"
    assert body["ticket"]["comment"]["body"] == "Ordered on Monday, tracking stuck."
    assert body["ticket"]["priority"] == "high" and body["ticket"]["external_id"] == "DM-1001"
    stored = await store.get(ticket.number, "telegram", "telegram")
    assert stored is not None and stored.forwarded and stored.external_id == "35436"

    await store.set_status("DM-1001", "pending", by="UAGENT")
    await store.drain()
    assert zendesk.tickets[35436]["status"] == "pending"
    await store.set_status("dm-1001", "resolved", by="UAGENT")
    await store.drain()
    assert zendesk.tickets[35436]["status"] == "solved"  # our "resolved" is Zendesk's "solved"
    assert (await store.by_status())["telegram|telegram"] == {"open": 0, "pending": 0, "resolved": 1}


async def test_wrong_zendesk_credentials_keep_the_ticket_unforwarded(redis, zendesk):
    store = TicketStore(redis, connectors=[ZendeskConnector(zendesk.base_url, "bot@acme.test", SecretStr("wrong"),
                                                            attempts=1)])
    ticket = await store.create(**NEW)
    await store.drain()
    assert zendesk.tickets == {}
    stored = await store.get(ticket.number, "telegram", "telegram")
    assert stored is not None and not stored.forwarded


async def test_every_worker_sees_the_same_tickets_and_numbers_never_collide(redis):
    one, two = TicketStore(redis), TicketStore(redis)
    made = await asyncio.gather(*(store.create(**NEW) for store in (one, two) * 10))
    assert len({t.number for t in made}) == 20
    assert await two.get(made[0].number, "telegram", "telegram") == made[0]
    assert await two.get(made[0].number, "slack", "T1") is None, "another tenant never sees it"
    assert await two.get("XX-1001", "telegram", "telegram") is None and await two.get("junk", "slack", "T1") is None
    await two.set_status(made[3].number, "pending", by="UAGENT")
    assert (await one.get(made[3].number, "telegram", "telegram")).status == "pending"
    with pytest.raises(ValueError):
        await one.set_status(made[3].number, "deleted", by="UAGENT")


async def test_the_customer_sees_the_status_an_agent_set(redis):
    store = TicketStore(redis)
    ticket = await store.create(**NEW)
    await store.set_status(ticket.number, "pending", by="UAGENT")
    who = Audience(tenant="telegram", user="42", channel="42")
    asker = Inbound(platform="telegram", bot="support", tenant="telegram", channel="42", user="42", audience=who)
    ctx = ToolContext(inbound=asker, conversation=asker.conversation_key, language="en", reply_id="r1",
                      services=ToolServices(settings=ToolsSettings(), tickets=store, escalations=None))  # type: ignore[arg-type]
    out = await ticket_status(TicketStatusArgs(ticket_id=ticket.number), ctx)
    assert out.ok and "status pending" in out.content
    stranger = asker.model_copy(update={"user": "43"})
    ctx.inbound = stranger
    assert not (await ticket_status(TicketStatusArgs(ticket_id=ticket.number), ctx)).ok
