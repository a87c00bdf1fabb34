"""The models people actually run: a key-less local server, tool calls written as text, answers without [n], no
usage in the stream. Against the fake OpenAI-compatible server, the real gateway, Redis, retrieval and cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.errors import ModelUnavailable
from core.llm.capabilities import NO_KEY, resolve
from core.llm.gateway import LiteLLMGateway
from core.llm.settings import LLMSettings, ModelEndpoint
from core.llm.types import Completion, TextChunk
from core.models import CitationEvent, NeedsConfirmation, ReplyEvent
from tests.fakes.llm_server import FakeLLM, Reply
from tests.support.runtime import PRIMARY, ask, final_of, streamed_text
from tests.support.runtime import running as _running

LOCAL = "openai/smollm2"  # a model litellm does not know, on a server on this machine
ASK = [{"role": "user", "content": "How do I reset my VPN?"}]
TICKET_JSON = {"name": "create_ticket", "arguments": {"summary": "Laptop screen cracked", "priority": "high"}}
TOOL_SCHEMA = [{"type": "function", "function": {"name": "create_ticket", "description": "Open a ticket",
                                                 "parameters": {"type": "object", "properties": {
                                                     "summary": {"type": "string"}}}}}]


async def collect(gw: LiteLLMGateway, **kwargs: Any) -> Completion:
    done = [e async for e in gw.stream(ASK, **kwargs) if not isinstance(e, TextChunk)]
    assert len(done) == 1
    return done[0]


def local_settings(fake: FakeLLM, model: str = LOCAL, **values: Any) -> LLMSettings:
    return LLMSettings(models=[ModelEndpoint(model=model, api_base=fake.base_url)], num_retries=0, **values)


def test_local_endpoints_need_no_key_and_wait_for_a_slow_prefill() -> None:
    settings = LLMSettings(models=[ModelEndpoint(model=LOCAL, api_base="http://127.0.0.1:8080/v1"),
                                   ModelEndpoint(model="ollama_chat/qwen2.5:1.5b"),
                                   ModelEndpoint(model="openai/gpt-4o-mini"),
                                   ModelEndpoint(model=LOCAL, api_base="http://10.1.2.3:8000/v1", tools="native",
                                                 first_token_timeout_s=30, max_tokens=200)])
    local, ollama, hosted, tuned = (resolve(ep, settings) for ep in settings.chain())
    assert (local.needs_key, local.tools, local.first_token_timeout_s, local.local) == (False, "none", 120.0, True)
    assert local.max_tokens == 640 and local.context_window == 4096
    assert not ollama.needs_key and ollama.local
    assert (hosted.needs_key, hosted.tools, hosted.first_token_timeout_s) == (True, "native", 15.0)
    assert hosted.context_window and hosted.context_window > 100_000  # litellm's table
    assert (tuned.tools, tuned.first_token_timeout_s, tuned.max_tokens) == ("native", 30, 200)
    explicit = LLMSettings(models=settings.models[:1], first_token_timeout_s=5)
    assert resolve(explicit.chain()[0], explicit).first_token_timeout_s == 5  # an operator's value wins


def test_the_local_defaults_hold_for_settings_read_from_the_environment(monkeypatch) -> None:
    """The way `deskmate chat` reads them (env, every default filled in): the real llama.cpp bench timed out at
    15 s here while the in-code settings above said 120."""
    from bots.settings import load_settings

    monkeypatch.setenv("DESKMATE_LLM__MODEL", LOCAL)
    monkeypatch.setenv("DESKMATE_LLM__API_BASE", "http://127.0.0.1:8080/v1")
    settings = load_settings()
    assert resolve(settings.llm.chain()[0], settings.llm).first_token_timeout_s == 120.0
    monkeypatch.setenv("DESKMATE_LLM__FIRST_TOKEN_TIMEOUT_S", "40")
    settings = load_settings()
    assert resolve(settings.llm.chain()[0], settings.llm).first_token_timeout_s == 40.0
    monkeypatch.setenv("DESKMATE_LLM__API_BASE", "https://api.openai.com/v1")
    monkeypatch.delenv("DESKMATE_LLM__FIRST_TOKEN_TIMEOUT_S")
    settings = load_settings()
    assert resolve(settings.llm.chain()[0], settings.llm).first_token_timeout_s == 15.0


async def test_a_keyless_local_server_answers_and_counts_usage_it_did_not_send(
        llm_server: FakeLLM, redis: aioredis.Redis) -> None:
    llm_server.send_usage = False  # llama-cpp-python's stream has no usage
    llm_server.script(LOCAL, Reply("Reset it in the portal.", ttft_s=1.5))
    # An HTTP timeout shorter than the prefill: a local endpoint's first-token allowance covers the headers too.
    gw = LiteLLMGateway(local_settings(llm_server, timeout_s=0.5), redis)
    try:
        done = await collect(gw, tools=TOOL_SCHEMA)
    finally:
        await gw.aclose()
    assert done.text == "Reset it in the portal."
    sent = llm_server.requests_for(LOCAL)[0]
    assert sent.headers["Authorization"] == f"Bearer {NO_KEY}"
    assert "tools" not in sent.body  # a local model litellm does not know gets no schemas
    assert sent.body["max_tokens"] == 640
    assert done.usage.estimated and done.usage.prompt_tokens > 0 and done.usage.completion_tokens > 0

    llm_server.script(PRIMARY, Reply("Known model."))  # a model litellm knows: its own tokenizer, not estimated
    known = LiteLLMGateway(llm_server.settings(PRIMARY), redis)
    try:
        with_tools = await collect(known, tools=TOOL_SCHEMA)
        llm_server.script(PRIMARY, Reply("Known model."))
        without = await collect(known)
    finally:
        await known.aclose()
    assert not with_tools.usage.estimated and with_tools.usage.prompt_tokens > without.usage.prompt_tokens


async def test_a_hosted_model_without_a_key_is_skipped_without_tripping_its_breaker(
        llm_server: FakeLLM, redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = LLMSettings(models=[ModelEndpoint(model="openai/gpt-4o"),
                                   ModelEndpoint(model=LOCAL, api_base=llm_server.base_url)],
                           num_retries=0, breaker_failures=1)
    gw = LiteLLMGateway(settings, redis)
    try:
        for _ in range(3):
            done = await collect(gw)
            assert done.model == LOCAL and done.fallbacks_used == 1
        assert await gw.breaker.state("openai/gpt-4o") == "closed"
        alone = LiteLLMGateway(LLMSettings(models=settings.models[:1], num_retries=0), redis)
        with pytest.raises(ModelUnavailable):
            await collect(alone)
        await alone.aclose()
    finally:
        await gw.aclose()
    skipped = [e for e in logs.events() if e.get("event") == "llm.attempt" and e.get("outcome") == "missing_key"]
    assert len(skipped) == 4 and all(e["model"] == "openai/gpt-4o" for e in skipped)


def running(data_dir: Path, fake: FakeLLM, model: str = PRIMARY, **overrides: Any) -> Any:
    llm = {"models": [{"model": model, "api_base": fake.base_url}], "timeout_s": 30.0,
           "first_token_timeout_s": 30.0, "num_retries": 0}
    return _running(data_dir, None, llm=llm, **overrides)


def proposals(events: list[ReplyEvent]) -> list[NeedsConfirmation]:
    return [e for e in events if isinstance(e, NeedsConfirmation)]


def offered(fake: FakeLLM, model: str = PRIMARY) -> list[set[str]]:
    return [{t["function"]["name"] for t in r.body.get("tools") or []} for r in fake.requests_for(model)]


async def test_tool_json_written_as_text_becomes_a_confirmation_and_is_never_shown(
        tmp_path: Path, llm_server: FakeLLM) -> None:
    bare = json.dumps(TICKET_JSON)
    fenced = "I will open it for you.\n```json\n" + json.dumps(TICKET_JSON, indent=2) + "\n```"
    llm_server.script(PRIMARY, Reply(bare))
    llm_server.script(LOCAL, Reply(fenced))
    async with running(tmp_path / "a", llm_server) as rt:
        events = await ask(rt, "My laptop screen is cracked, please open a ticket")
        assert [p.tool for p in proposals(events)] == ["create_ticket"]
        assert "Laptop screen cracked" in proposals(events)[0].summary
        shown = streamed_text(events)
        assert '"name"' not in shown and "{" not in shown and "confirm" in shown.lower()
        assert await rt.tools.tickets.count() == 0  # nothing happens before the user confirms
    async with running(tmp_path / "b", llm_server, model=LOCAL) as rt:  # a key-less local model without tools
        events = await ask(rt, "My laptop screen is cracked, please open a ticket")
        assert offered(llm_server, LOCAL) == [set()]
        assert [p.tool for p in proposals(events)] == ["create_ticket"]
        shown = streamed_text(events)
        assert shown.startswith("I will open it for you.") and "```" not in shown and '"name"' not in shown


async def test_a_call_to_no_tool_of_the_bot_is_dropped_and_the_kb_answers(tmp_path: Path,
                                                                          llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply('{"name": "vacation_lookup", "arguments": {"country": "DE"}}'),
                      Reply('{"name": "vacation_lookup", "arguments": {"country": "DE"}}'))
    async with running(tmp_path, llm_server) as rt:
        for channel in ("A", "B"):
            events = await ask(rt, "How many vacation days do I get per year?", channel=channel)
            final = final_of(events)
            assert "vacation_lookup" not in streamed_text(events) and not proposals(events)
            assert final.retrieval_only and not final.cached  # never replayed from the cache
            assert "25 days" in final.text


async def test_a_plain_question_gets_no_tool_schemas_and_a_half_size_prompt(tmp_path: Path,
                                                                           llm_server: FakeLLM) -> None:
    async with running(tmp_path, llm_server) as rt:
        await ask(rt, "How many vacation days do I get per year?", channel="A")
        await ask(rt, "I want to talk to a human about my vacation days", channel="B")
        await ask(rt, "Сколько дней отпуска мне положено?", channel="C")
        await ask(rt, "Позовите, пожалуйста, живого оператора", channel="D")
    plain, human, plain_ru, human_ru = llm_server.requests_for(PRIMARY)
    assert offered(llm_server) == [set(), {"create_ticket", "ticket_status", "escalate_to_human",
                                           "search_knowledge"}, set(), offered(llm_server)[1]]
    assert "You can use tools" not in json.dumps(plain.body) and "You can use tools" in json.dumps(human.body)
    assert len(json.dumps(plain.body)) < 0.75 * len(json.dumps(human.body))
    assert plain_ru.body.get("tools") is None and human_ru.body.get("tools")


async def test_an_answer_without_marks_shows_the_sources_consulted_and_is_not_cached(
        tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply("Full-time employees get 25 days of paid vacation."),
                      Reply("Second answer from the model."),
                      Reply("Full-time employees get 25 days of paid vacation [1]."))
    async with running(tmp_path, llm_server) as rt:
        events = await ask(rt, "How many vacation days do I get per year?", channel="A")
        final = final_of(events)
        assert "Sources consulted" in final.text and "Vacation and sick leave" in final.text
        assert streamed_text(events) == final.text  # the label streamed like the answer
        assert not any(isinstance(e, CitationEvent) for e in events)  # not passed off as citations
        again = final_of(await ask(rt, "How many vacation days do I get per year?", channel="B"))
        assert not again.cached and again.text.startswith("Second answer from the model.")
        # An answer that cites [n] gets real citations, no "consulted" list, and is cached.
        cited = await ask(rt, "How many days of paid vacation do full-time employees get?", channel="C")
        assert any(isinstance(e, CitationEvent) for e in cited) and "Sources consulted" not in final_of(cited).text
        hit = final_of(await ask(rt, "How many days of paid vacation do full-time employees get?", channel="D"))
        assert hit.cached and hit.text.endswith("[1].")


async def test_sources_consulted_is_labelled_in_russian(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply("Сотрудникам положено 25 дней отпуска."))
    async with running(tmp_path, llm_server) as rt:
        final = final_of(await ask(rt, "Сколько дней отпуска мне положено?", locale="ru"))
    assert "Просмотренные источники" in final.text and "Sources consulted" not in final.text
