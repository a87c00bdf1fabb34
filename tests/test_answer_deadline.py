"""One deadline per answer: the whole fallback chain shares one budget to start an answer (fake LLM, real Redis)."""

from __future__ import annotations

import time

from core.errors import ModelUnavailable
from core.llm.gateway import LiteLLMGateway
from core.models import Final, TextDelta
from tests.fakes.llm_server import Hang, Reply
from tests.support.runtime import ask, running

CHAIN = ("openai/gpt-4o-mini", "openai/gpt-4o", "openai/gpt-4.1-mini")
ASK = [{"role": "user", "content": "How do I reset my VPN?"}]


def attempts(logs) -> list[tuple[str, str]]:
    return [(e["model"], e["outcome"]) for e in logs.events() if e.get("event") == "llm.attempt"]


async def test_every_model_hanging_spends_one_budget_not_one_timeout_per_model(llm_server, redis, logs):
    for model in CHAIN:
        llm_server.script(model, Hang())
    # default: the primary's first-token timeout + 2 s
    assert LiteLLMGateway(llm_server.settings(*CHAIN, first_token_timeout_s=1.5), redis).answer_deadline_s == 3.5
    gw = LiteLLMGateway(llm_server.settings(*CHAIN, first_token_timeout_s=1.0, answer_deadline_s=2.6), redis)
    await gw.warm_up()  # as at startup: litellm's first-call imports would block the loop inside the budget
    try:
        started = time.monotonic()
        try:
            async for _ in gw.stream(ASK, request_id="r1"):
                raise AssertionError("no text can come from hanging models")
        except ModelUnavailable:
            pass
        spent = time.monotonic() - started
    finally:
        await gw.aclose()
    # two models get their own first-token timeout (breaker failures); the third only what is left (not its fault)
    assert attempts(logs) == [(CHAIN[0], "first_token_timeout"), (CHAIN[1], "first_token_timeout"),
                              (CHAIN[2], "deadline_spent")]
    assert spent < 2.6 + 0.4  # was 3 x 1.0 s: chain length x timeout


async def test_a_fallback_still_answers_within_the_budget(llm_server, redis, logs):
    llm_server.script(CHAIN[0], Hang())
    llm_server.script(CHAIN[1], Reply("From the fallback."))
    gw = LiteLLMGateway(llm_server.settings(*CHAIN, first_token_timeout_s=1.0), redis)
    try:
        text = "".join([e.text async for e in gw.stream(ASK) if hasattr(e, "text") and not hasattr(e, "usage")])
    finally:
        await gw.aclose()
    assert text == "From the fallback."
    assert attempts(logs)[:2] == [(CHAIN[0], "first_token_timeout"), (CHAIN[1], "ok")]


async def test_when_the_budget_runs_out_the_user_gets_the_retrieval_only_answer(llm_server, tmp_path, logs):
    for model in CHAIN[:2]:
        llm_server.script(model, Hang(), Hang())
    async with running(tmp_path, llm_server, models=CHAIN[:2],
                       llm={"first_token_timeout_s": 5.0, "answer_deadline_s": 1.5}) as rt:
        started = time.monotonic()
        events = await ask(rt, "How do I reset my VPN password?")
        first_text = next(e for e in events if isinstance(e, TextDelta))
        spent = time.monotonic() - started
    final = events[-1]
    assert isinstance(final, Final) and final.retrieval_only
    assert first_text.text.strip()
    assert [o for _, o in attempts(logs)] == ["deadline_spent", "deadline_spent"]
    assert spent < 8.0  # the 1.5 s budget plus the stages' time (cold here), not 2 x 5 s (bench_faults times it)
