"""Side model calls share the main answer's protections and accounting (issue 21 item 5): a provider that answers
429 forever is not hammered by side calls (the Redis breaker every worker shares opens), and a side call's cost is
charged to the tenant being answered, in its daily budget and in `deskmate report` (split main vs side)."""

from __future__ import annotations

import argparse

import pytest
from aiohttp import web

from bots.commands import report
from core.knowledge.search import Reranker
from core.llm.side import SideCallFailed, pay_as
from tests.fakes.local_server import serve_app
from tests.support.queue import redis_url
from tests.support.runtime import running


class Always429:
    """A provider that refuses every request with 429 (no Retry-After, or one when asked)."""

    def __init__(self, retry_after: str | None = None) -> None:
        self.hits = 0
        self.retry_after = retry_after

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        return web.json_response({"message": "rate limited"}, status=429, headers=headers)


@pytest.mark.parametrize("retry_after", [None, "30"])
async def test_a_provider_answering_429_forever_is_not_hammered_by_side_calls(llm_server, redis, tmp_path, logs,
                                                                               retry_after):
    provider = Always429(retry_after)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", provider.handle)
    runner, port = await serve_app(app)
    try:
        async with running(tmp_path / "var", llm_server, redis_url=redis_url(redis)) as runtime:
            reranker = Reranker("cohere/rerank-v3.5", f"http://127.0.0.1:{port}", "sk-test")
            for _ in range(10):  # ten questions in a row, each wanting a rerank
                with pytest.raises(SideCallFailed):
                    await reranker.scores("vacation days?", ["doc one", "doc two"])
            state = await runtime.gateway.breaker.state("cohere/rerank-v3.5")
    finally:
        await runner.cleanup()
    outcomes = [e["outcome"] for e in logs.events() if e.get("event") == "llm.side_call"]
    assert len(outcomes) == 10
    # Three failures open the breaker (litellm's rerank error does not carry the Retry-After header, so a 429
    # with one counts like any other); after that the breaker answers for the provider.
    assert provider.hits <= 3, provider.hits
    assert outcomes[-1] == "skipped_open" and state == "open"


async def test_side_call_cost_counts_in_the_tenant_budget_and_in_report(llm_server, redis, tmp_path, monkeypatch,
                                                                        capsys):
    async with running(tmp_path / "var", llm_server, redis_url=redis_url(redis)) as runtime:
        limits = runtime.ops.limits
        before = await limits.usage("slack", "T1")
        pay_as("slack", "T1")  # as the limits stage does for the message being answered
        completion = await runtime.gateway.complete([{"role": "user", "content": "summarise our chat"}],
                                                    max_tokens=20, kind="summary")
        after = await limits.usage("slack", "T1")
        other = await limits.usage("slack", "T2")
    spent = completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert spent > 0 and completion.usage.cost_usd > 0
    assert after["tokens"] - before["tokens"] == spent, "the side call counts in the daily token budget"
    assert after["cost_usd"] == pytest.approx(before["cost_usd"] + completion.usage.cost_usd, abs=2e-6)
    assert other["tokens"] == 0, "and only in the tenant being answered"

    monkeypatch.setenv("DESKMATE_REDIS_URL", redis_url(redis))
    from bots.settings import load_settings

    args = argparse.Namespace(days=1, since=None, until=None, by="both", format="csv", what="spend",
                              platform=None, tenant=None)
    assert await report.run(args, load_settings(data_dir=tmp_path / "var")) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    [row] = [dict(zip(header, r, strict=False)) for r in rows if r[1] == "T1"]
    assert float(row["side_cost_usd"]) == pytest.approx(completion.usage.cost_usd, abs=2e-6)
    assert int(row["side_tokens"]) == spent and float(row["main_cost_usd"]) == 0.0
    assert "summary=" in row["side_by_kind"]


async def test_the_cache_judge_settled_after_its_answer_is_still_charged_to_the_tenant(llm_server, redis, tmp_path):
    async with running(tmp_path / "var", llm_server, redis_url=redis_url(redis)) as runtime:
        limits = runtime.ops.limits
        before = await limits.usage("slack", "T1")
        pay_as("slack", "T1")
        completion = await runtime.gateway.complete([{"role": "user", "content": "same question? yes or no"}],
                                                    max_tokens=3, kind="cache_judge", settle_later=True)
        await runtime.gateway.settled()
        after = await limits.usage("slack", "T1")
    assert completion.text, "the caller gets the verdict at once"
    assert after["tokens"] > before["tokens"], "the judge's tokens still reach the tenant's budget"
    assert after["cost_usd"] > before["cost_usd"]


async def test_the_judges_deferred_charge_reaches_the_tenants_budget_before_shutdown_ends(llm_server, redis,
                                                                                           tmp_path):
    ask = [{"role": "user", "content": "same question? yes or no"}]
    async with running(tmp_path / "var", llm_server, redis_url=redis_url(redis)) as runtime:
        limits = runtime.ops.limits
        before = await limits.usage("slack", "T1")
        pay_as("slack", "T1")
        completion = await runtime.gateway.complete(ask, max_tokens=3, kind="cache_judge", settle_later=True,
                                                    direct=True)
        right_after = await limits.usage("slack", "T1")
    async with running(tmp_path / "var", llm_server, redis_url=redis_url(redis)) as again:
        after = await again.ops.limits.usage("slack", "T1")
    assert completion.text
    assert right_after["tokens"] == before["tokens"], "charged after the cached answer has started, not before"
    assert after["tokens"] > before["tokens"] and after["cost_usd"] > before["cost_usd"], \
        "shutdown waited for the deferred charge"
