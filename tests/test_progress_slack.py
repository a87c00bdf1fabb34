"""Slack shows what the bot is doing as task cards in the streamed answer (issue #22 item 6), end to end: signed
requests to the app, the real engine and knowledge base, a fake LLM and a fake Slack Web API that keeps the
chunks a user sees and refuses malformed ones as Slack does."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel

from core.tools.context import ToolContext, ToolOutput
from tests.fakes import slack_events
from tests.fakes.llm_server import Reply, ToolCalls
from tests.fakes.slack_api import Message, slack_rig, wait_for

DOC = """# VPN

If the VPN client shows error 809, restart the VPN client and sign in again with your company account.
"""
ANSWER = "Restart the VPN client, then sign in again [1]."
TICKET = {"summary": "Laptop screen flickers", "description": "Since this morning", "priority": "high",
          "category": "other"}


@pytest.fixture
async def rig(llm_server, monkeypatch, redis, tmp_path):
    async with slack_rig(llm_server, monkeypatch) as rig:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "vpn.md").write_text(DOC)
        await rig.runtime.knowledge.ingest([str(docs)], rig.runtime.profiles["helpdesk"].collections[0])
        yield rig


def streams(rig, channel: str, thread_ts: str) -> list[Message]:
    return [m for m in rig.slack.thread(channel, thread_ts) if m.kind == "stream"]


def card_titles(message: Message) -> dict[str, str]:
    return {ident: str(task["title"]) for ident, task in message.progress.tasks.items()}


def assert_each_step_once_and_complete(message: Message) -> None:
    for ident in message.progress.tasks:
        updates = message.progress.updates(ident)
        assert updates[-1] == "complete", (ident, updates)
        assert updates.count("in_progress") <= 1 and updates.count("complete") == 1, (ident, updates)


async def test_a_knowledge_question_shows_the_search_complete_before_the_answer(rig, llm_server):
    llm_server.script("gpt-4o-mini", Reply(ANSWER, ttft_s=0.3))
    ts = await rig.mention("vpn error 809, what do I do?")
    text = await rig.answered("C1", ts)
    assert ANSWER in text
    [message] = streams(rig, "C1", ts)
    assert card_titles(message) == {"kb": "Searching the knowledge base…"}
    assert message.progress.updates("kb") == ["in_progress", "complete"]  # shown while it ran, then done
    shown = message.progress.shown
    done_at = next(i for i, s in enumerate(shown) if s.kind == "task" and s.status == "complete")
    assert message.progress.first_text_at() is not None and done_at < message.progress.first_text_at()
    assert message.text == text  # the cards are not text: the answer reads as before
    assert_each_step_once_and_complete(message)


async def open_ticket(rig) -> str:
    ticket = await rig.runtime.tools.tickets.create(
        platform="slack", tenant="T1", user="U1", conversation="slack:T1:C1:-", summary="Screen flickers",
        description="", priority="normal", category="it")
    return ticket.number


async def test_a_ticket_lookup_shows_calling_the_ticket_system(rig, llm_server):
    number = await open_ticket(rig)
    llm_server.script("gpt-4o-mini", ToolCalls([("ticket_status", {"ticket_id": number})]),
                      Reply(f"Ticket {number} is open."))
    ts = await rig.mention(f"what is the status of my ticket {number}?")
    text = await rig.answered("C1", ts)
    assert f"Ticket {number} is open." in text
    [message] = streams(rig, "C1", ts)
    titles = card_titles(message)
    assert "Calling the ticket system…" in titles.values(), titles
    assert_each_step_once_and_complete(message)


async def test_a_proposal_shows_asking_for_confirmation_and_the_press_calls_the_ticket_system(rig, llm_server):
    llm_server.script("gpt-4o-mini", ToolCalls([("create_ticket", TICKET)]))
    ts = await rig.mention("my laptop screen flickers, please open a ticket")
    await rig.answered("C1", ts)
    [asked] = streams(rig, "C1", ts)
    assert "Asking for your confirmation…" in card_titles(asked).values()
    assert_each_step_once_and_complete(asked)
    [proposal] = [m for m in rig.slack.thread("C1", ts) if any(b.get("type") == "actions" and
                  str(b.get("block_id", "")).startswith("proposal:") for b in m.blocks)]
    actions = next(b for b in proposal.blocks if str(b.get("block_id", "")).startswith("proposal:"))
    confirm = actions["elements"][0]
    await rig.click(confirm["action_id"], confirm["value"], "C1", proposal.ts, ts, user="U1",
                    block_id=actions["block_id"])
    text = await rig.answered("C1", ts, count=2)
    assert "DM-1001" in text
    confirmed = streams(rig, "C1", ts)[-1]
    assert list(card_titles(confirmed).values()) == ["Calling the ticket system…"]
    assert_each_step_once_and_complete(confirmed)


async def test_a_russian_question_gets_russian_task_cards(rig, llm_server):
    number = await open_ticket(rig)
    llm_server.script("gpt-4o-mini", ToolCalls([("ticket_status", {"ticket_id": number})]),
                      Reply(f"Заявка {number} открыта."))
    ts = await rig.mention(f"Подскажите, пожалуйста, какой статус у моей заявки {number} по VPN?")
    assert "открыта" in await rig.answered("C1", ts)
    [message] = streams(rig, "C1", ts)
    titles = set(card_titles(message).values())
    assert titles == {"Ищу в базе знаний…", "Обращаюсь к системе заявок…"}, titles
    assert_each_step_once_and_complete(message)


@pytest.mark.parametrize("failure", [{"error": "invalid_chunks"}, {"status": 429}])
async def test_refused_task_cards_never_cost_the_answer(rig, llm_server, failure):
    rig.slack.fail_progress(**failure)  # every call carrying a task card is refused
    llm_server.script("gpt-4o-mini", Reply(ANSWER))
    started = time.monotonic()
    ts = await rig.mention("vpn error 809, what do I do?")
    text = await rig.answered("C1", ts)
    assert text.startswith(ANSWER)  # the whole answer, streamed (not a fallback message)
    [message] = streams(rig, "C1", ts)
    assert message.text == text and not message.streaming
    assert message.progress.tasks == {}
    refused = [c for c in rig.slack.calls if not c.ok]
    assert len(refused) == 1, [(c.method, c.error) for c in refused]  # tried once, then cards are off
    assert time.monotonic() - started < 8


async def test_with_no_room_in_the_budget_cards_ride_on_the_text_appends(llm_server, monkeypatch, redis, tmp_path):
    async with slack_rig(llm_server, monkeypatch, DESKMATE_SLACK__TASK_RESERVE="1000") as rig:
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "vpn.md").write_text(DOC)
        await rig.runtime.knowledge.ingest([str(docs)], rig.runtime.profiles["helpdesk"].collections[0])
        llm_server.script("gpt-4o-mini", Reply(ANSWER))
        ts = await rig.mention("vpn error 809, what do I do?")
        await rig.answered("C1", ts)
        [message] = streams(rig, "C1", ts)
        assert message.progress.updates("kb") == ["complete"]  # both updates went out together, as the later one
        stream_calls = rig.slack.calls_to("chat.startStream", "chat.appendStream", "chat.stopStream")
        assert all(c.text for c in stream_calls if c.method != "chat.stopStream")  # no call for a card alone
        assert message.progress.first_text_at() == 1  # the card, then the text, in the same first call


def test_the_fake_refuses_malformed_chunks_as_slack_does() -> None:
    from tests.fakes.slack_chunks import invalid

    assert invalid([{"type": "task_update", "id": "kb", "title": "Searching", "status": "in_progress"}]) is None
    assert invalid([{"type": "task_update", "id": "kb", "title": "Searching", "status": "done"}]) == "invalid_chunks"
    assert invalid([{"type": "task_update", "id": "kb", "status": "complete"}]) == "invalid_chunks"
    assert invalid([{"type": "plan_update"}]) == "invalid_chunks"
    assert invalid([{"type": "sparkles", "text": "x"}]) == "invalid_chunks"
    assert invalid([{"type": "markdown_text", "text": "hi"}]) is None





SLOW_PROFILE = """
name: slowbot
prompt: helpdesk
prompt_version: v1
tools: [slow_lookup]
features: {rag: false, cache: false, pii: false, tools: true, streaming: true}
"""


class LookupArgs(BaseModel):
    item: str


@pytest.mark.parametrize(("timeout_s", "ends"), [(5.0, "complete"), (0.4, "error")])
async def test_a_slow_tool_shows_its_card_while_it_runs(llm_server, monkeypatch, redis, tmp_path, timeout_s, ends):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "slowbot.yaml").write_text(SLOW_PROFILE)
    env = {"DESKMATE_PROFILES_DIR": str(tmp_path / "profiles"), "DESKMATE_SLACK__BOT": "slowbot"}
    async with slack_rig(llm_server, monkeypatch, **env) as rig:
        running = asyncio.Event()

        @rig.runtime.tools.registry.tool(timeout_s=timeout_s)
        async def slow_lookup(args: LookupArgs, ctx: ToolContext) -> ToolOutput:
            """Look an item up in a slow system."""
            running.set()
            await asyncio.sleep(1.5)
            return ToolOutput(content=f"{args.item}: shipped")

        llm_server.script("gpt-4o-mini", ToolCalls([("slow_lookup", {"item": "order 42"})], text="Let me look. "),
                          Reply("Order 42 has shipped."))
        ts = await rig.mention("where is order 42?")
        await asyncio.wait_for(running.wait(), 20)
        await wait_for(lambda: any("in_progress" in m.progress.updates(i) for m in streams(rig, "C1", ts)
                                   for i in m.progress.tasks), within_s=1.0)  # shown while the tool works
        text = await rig.answered("C1", ts)
        assert text.startswith("Let me look.")
        [message] = streams(rig, "C1", ts)
        [(ident, card)] = message.progress.tasks.items()
        assert message.progress.updates(ident) == ["in_progress", ends]
        shown = message.progress.shown
        first_card = next(i for i, s in enumerate(shown) if s.kind == "task")
        assert "".join(s.text for s in shown[:first_card]).strip() == "Let me look."  # after the words before it
        if ends == "error":
            assert "didn't answer in time" in card["title"]


async def test_an_edit_while_a_tool_runs_leaves_no_card_spinning(llm_server, monkeypatch, redis, tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "slowbot.yaml").write_text(SLOW_PROFILE)
    env = {"DESKMATE_PROFILES_DIR": str(tmp_path / "profiles"), "DESKMATE_SLACK__BOT": "slowbot",
           "DESKMATE_EDITS__SETTLE_S": "0.2"}
    async with slack_rig(llm_server, monkeypatch, **env) as rig:
        running = asyncio.Event()

        @rig.runtime.tools.registry.tool(timeout_s=30)
        async def slow_lookup(args: LookupArgs, ctx: ToolContext) -> ToolOutput:
            """Look an item up in a slow system."""
            running.set()
            await asyncio.sleep(20)
            return ToolOutput(content=f"{args.item}: shipped")

        llm_server.script("gpt-4o-mini", ToolCalls([("slow_lookup", {"item": "order 42"})], text="Let me look. "),
                          Reply("Thanks, nothing to look up then."))
        ts = await rig.mention("where is order 42?")
        await asyncio.wait_for(running.wait(), 20)
        await wait_for(lambda: any(m.progress.tasks for m in streams(rig, "C1", ts)), within_s=2.0)
        await rig.event(slack_events.edited(rig.asked[ts], "<@UBOT> never mind, thanks", after_s=2))
        text = await rig.answered("C1", ts, within_s=30)
        await rig.idle()
        assert "Thanks, nothing to look up then." in text
        for message in rig.slack.thread("C1", ts):
            for ident in message.progress.tasks:
                assert message.progress.updates(ident)[-1] != "in_progress", message.progress.shown


def test_cards_are_capped_per_answer_and_ids_are_plain() -> None:
    from adapters.slack.progress import MAX_TASKS, TaskChunks
    from core.models import Status

    tasks = TaskChunks()
    for i in range(MAX_TASKS + 5):
        tasks.add(Status(text="Working on it (lookup)…", step=f"tool:call <{i}>/x"))
    lead, trail = tasks.take()
    ids = [c.id for c in lead + trail]
    assert len(ids) == MAX_TASKS and all(i.replace("_", "").replace("-", "").isalnum() for i in ids)
    assert not tasks.add(Status(text="again", step="tool:call <0>/x"))  # a step appears once
