"""The cache inside the full runtime (composition root): tool answers are not cached, stats are wired."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.llm_server import FakeLLM, Reply, ToolCalls
from tests.support.runtime import PRIMARY, admin_context, ask, final_of, running


async def test_answers_that_used_tools_are_not_cached_but_plain_ones_are(tmp_path: Path,
                                                                         llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, ToolCalls([("ticket_status", {"ticket_id": "DM-1001"})]),
                      Reply("Your ticket is still open."), Reply("Checked again: still open [1]."),
                      Reply("Full-time employees get 25 days of paid vacation [1]."))
    async with running(tmp_path, llm_server, llm={"first_token_timeout_s": 30.0, "timeout_s": 60.0}) as rt:
        first = final_of(await ask(rt, "What is the status of my support ticket?", channel="A"))
        assert first.used_tools and not first.cached
        again = final_of(await ask(rt, "What is the status of my support ticket?", channel="B"))
        assert not again.cached and again.text == "Checked again: still open [1]."  # asked the model again
        await ask(rt, "How many vacation days do I get per year?", channel="C")
        hit = final_of(await ask(rt, "How many vacation days do I get per year?", channel="D"))
        assert hit.cached and hit.text == "Full-time employees get 25 days of paid vacation [1]."
        stats = await rt.admin.handle(admin_context(rt, platform="console", channel="A", user="root"), "stats")
        assert "cache hits: 1" in stats.text
