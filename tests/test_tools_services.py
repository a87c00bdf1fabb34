"""Tools' own parts: schema from the function, ticket forwarding with retries, escalation hand-over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, Field

from core.models import Action, Final, NeedsConfirmation
from core.tools.builtins import register_builtins
from core.tools.context import ToolContext, ToolOutput
from core.tools.registry import Tool, ToolRegistry
from tests.fakes.llm_server import FakeLLM, Reply, ToolCalls
from tests.support.runtime import PRIMARY, ask, final_of, inbound
from tests.support.runtime import running as _running


def running(data_dir: Path, fake: FakeLLM, **overrides: Any) -> Any:
    """The full runtime; generous model timeouts so a loaded test machine does not look like a hung model."""
    return _running(data_dir, fake, llm={"first_token_timeout_s": 30.0, "timeout_s": 30.0}, **overrides)


class NoteArgs(BaseModel):
    text: str = Field(description="What to write down")


async def write_note(args: NoteArgs, ctx: ToolContext) -> ToolOutput:
    """Write a note for the user."""
    return ToolOutput(content="noted")


def test_name_description_and_schema_come_from_the_function() -> None:
    spec = Tool.from_function(write_note).spec()["function"]
    assert spec["name"] == "write_note" and spec["description"] == "Write a note for the user."
    assert spec["parameters"]["required"] == ["text"]
    assert spec["parameters"]["properties"]["text"]["description"] == "What to write down"
    builtins = register_builtins(ToolRegistry())
    assert builtins.names == ["create_ticket", "escalate_to_human", "search_knowledge", "ticket_status"]
    assert builtins.get("create_ticket").acting and not builtins.get("ticket_status").acting  # type: ignore[union-attr]
    assert builtins.feature_names()[0] == "tools.create_ticket"


def test_a_tool_without_a_docstring_or_a_typed_model_is_refused() -> None:
    async def undocumented(args: NoteArgs, ctx: ToolContext) -> ToolOutput:
        return ToolOutput(content="")

    def not_async(args: NoteArgs, ctx: ToolContext) -> ToolOutput:
        """Sync."""
        return ToolOutput(content="")

    with pytest.raises(TypeError, match="docstring"):
        Tool.from_function(undocumented)
    with pytest.raises(TypeError, match="async"):
        Tool.from_function(not_async)  # type: ignore[arg-type]


class Helpdesk:
    """A local HTTP helpdesk webhook that fails the first request, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        if len(self.received) <= self.failures:
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"ok": True})


@pytest.fixture
async def helpdesk() -> AsyncIterator[Helpdesk]:
    desk = Helpdesk(failures=1)
    app = web.Application()
    app.router.add_post("/tickets", desk.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    desk.url = f"http://127.0.0.1:{port}/tickets"
    yield desk
    await runner.cleanup()


TICKET = {"summary": "VPN drops every hour", "priority": "normal", "category": "it"}


async def test_a_ticket_is_forwarded_to_the_webhook_with_a_retry(tmp_path: Path, llm_server: FakeLLM,
                                                                 helpdesk: Helpdesk) -> None:
    llm_server.script(PRIMARY, ToolCalls([("create_ticket", TICKET)]))
    async with running(tmp_path, llm_server, tools={"ticket_webhook_url": helpdesk.url}) as rt:
        tools = rt.tools
        events = await ask(rt, "open a ticket: VPN drops")
        proposal = next(e for e in events if isinstance(e, NeedsConfirmation))
        done = await ask(rt, inbound("", action=Action(kind="confirm", ref=proposal.proposal_id)))
        assert "DM-1001" in final_of(done).text
        await tools.tickets.drain()
        assert len(helpdesk.received) == 2  # 503 once, then accepted
        assert helpdesk.received[-1]["number"] == "DM-1001"
        assert helpdesk.received[-1]["summary"] == "VPN drops every hour"
        ticket = await tools.tickets.get("DM-1001", "console", "T1")
        assert ticket is not None and ticket.forwarded
    # Tickets are durable: a new runtime over the same data dir still has it.
    async with running(tmp_path, llm_server) as rt:
        assert await rt.tools.tickets.get("DM-1001", "console", "T1") is not None


class SlackChannel:
    """Stands in for the Slack/Telegram side of a Notifier (what a platform adapter would post)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []

    async def notify(self, target: str, text: str) -> None:
        self.posts.append((target, text))


async def test_escalation_posts_a_conversation_summary_and_tells_the_user(tmp_path: Path,
                                                                          llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply("Try restarting the router."),
                      ToolCalls([("escalate_to_human", {"reason": "Router restart did not help"})]))
    async with running(tmp_path, llm_server, tools={"escalation_target": "slack:C0HELP"}) as rt:
        tools = rt.tools
        channel = SlackChannel()
        tools.escalations.add_notifier("slack", channel)
        await ask(rt, "My wifi keeps failing")
        events = await ask(rt, "That didn't help, I want to talk to a person")
        proposal = next(e for e in events if isinstance(e, NeedsConfirmation))
        assert "Router restart did not help" in proposal.summary
        assert channel.posts == []  # nothing is sent before the user confirms
        done = await ask(rt, inbound("", action=Action(kind="confirm", ref=proposal.proposal_id)))
        assert isinstance(done[-1], Final) and "someone will follow up" in done[-1].text
        [(target, note)] = channel.posts
        assert target == "C0HELP"
        assert "Reason: Router restart did not help" in note
        assert "user: My wifi keeps failing" in note and "assistant: Try restarting the router." in note
        [stored] = await tools.escalations.recent("console", "T1")
        assert stored["delivered"] and stored["note"] == note
