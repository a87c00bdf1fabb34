"""The semantic cache stage in a real engine: fake LLM provider on the wire, real Redis, sqlite + faiss, local model."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bots.profile_loader import load_profiles
from core.admin import AdminCommands, AdminContext
from core.audience import Audience
from core.cache import CacheSettings, SemanticCache, open_cache
from core.cache.stage import CacheStage
from core.engine import Engine
from core.flags import FeatureFlags
from core.knowledge.embeddings import LocalEmbedder
from core.llm.gateway import LiteLLMGateway
from core.memory.settings import MemorySettings
from core.memory.stage import MemoryStage
from core.memory.window import ConversationMemory
from core.models import Action, Final, Inbound, ReplyEvent, TextDelta
from core.prompts import PromptLibrary, builtin_prompts_dir
from core.stages.features import FeaturesStage
from core.stages.generate import GenerateStage
from tests.fakes.llm_server import FakeLLM, Reply

MODEL = "openai/gpt-4o-mini"
JUDGE = "openai/cache-judge"  # the verifier's model on the same fake server, scripted apart from answers
_embedder: LocalEmbedder | None = None


def embedder() -> LocalEmbedder:
    """One local model per test session (the model object itself is shared per process)."""
    global _embedder
    if _embedder is None:
        _embedder = LocalEmbedder()
    return _embedder


@dataclass
class KbVersions:
    """A knowledge-base version per tenant that a test can bump (like re-indexing would)."""

    versions: dict[str, int] = field(default_factory=dict)

    async def __call__(self, tenant: str, collections: Sequence[str]) -> str:
        return f"v{self.versions.get(tenant, 1)}:{','.join(collections)}"

    def bump(self, tenant: str) -> None:
        self.versions[tenant] = self.versions.get(tenant, 1) + 1


@dataclass
class Harness:
    engine: Engine
    cache: SemanticCache
    flags: FeatureFlags
    llm: FakeLLM
    kb: KbVersions
    memory: ConversationMemory
    gateway: LiteLLMGateway

    async def ask(self, text: str, *, tenant: str = "T1", channel: str = "C1", thread: str | None = None,
                  bot: str = "helpdesk", user: str = "U1", action: Action | None = None) -> list[ReplyEvent]:
        inbound = Inbound(platform="slack", bot=bot, tenant=tenant, channel=channel, thread=thread, user=user,
                          text=text, action=action)
        return [event async for event in self.engine.handle(inbound)]

    def llm_calls(self) -> int:
        return len(self.llm.requests_for(MODEL))

    def judge_calls(self) -> int:
        return len(self.llm.requests_for(JUDGE))


def final_of(events: list[ReplyEvent]) -> Final:
    last = events[-1]
    assert isinstance(last, Final), last
    return last


def text_of(events: list[ReplyEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def build(tmp_path: Path, redis: aioredis.Redis, llm: FakeLLM, settings: CacheSettings | None = None,
                kb: KbVersions | None = None, tools: Any = None, num_retries: int = 0) -> Harness:
    profiles = load_profiles(None)
    prompts = PromptLibrary.load(builtin_prompts_dir())
    gateway = LiteLLMGateway(llm.settings(MODEL, first_token_timeout_s=30.0, timeout_s=60.0,
                                          num_retries=num_retries), redis)
    memory = ConversationMemory(redis, MemorySettings(), gateway, prompts, token_model="gpt-4o-mini")
    flags = FeatureFlags(redis)
    kb = kb or KbVersions()
    settings = settings or CacheSettings(judge_model=JUDGE)
    llm.judge_models.add(JUDGE.split("/", 1)[1])  # the judge model's requests follow its own script
    cache = await open_cache(settings, tmp_path / "data", embedder(), redis, kb, gateway, prompts)
    stages = [FeaturesStage(flags), MemoryStage(memory), CacheStage(cache)]
    engine = Engine(stages, GenerateStage(gateway, prompts, tools=tools), profiles)
    return Harness(engine=engine, cache=cache, flags=flags, llm=llm, kb=kb, memory=memory, gateway=gateway)


@pytest.fixture
async def h(tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM) -> AsyncIterator[Harness]:
    harness = await build(tmp_path, redis, llm_server)
    yield harness
    await harness.cache.aclose()
    await harness.gateway.aclose()


async def test_repeated_question_is_answered_from_the_cache_without_the_model(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Open the portal and choose Reset password."))
    first = await h.ask("How do I reset my password?")
    assert not final_of(first).cached and h.llm_calls() == 1

    h.llm.script(JUDGE, Reply("Yes."))
    second = await h.ask("How can I reset my password?", channel="C2", user="U2")
    final = final_of(second)
    assert final.cached and h.judge_calls() == 1
    assert h.llm_calls() in (1, 2)  # the answer may have started in parallel; it was not shown
    prompt = h.llm.requests_for(JUDGE)[0].body["messages"][-1]["content"]
    assert "How do I reset my password?" in prompt and "How can I reset my password?" in prompt
    assert final.text == "Open the portal and choose Reset password." == text_of(second)
    assert sum(isinstance(e, TextDelta) for e in second) > 1  # streamed in pieces, like a model answer
    assert final.model == MODEL and final.prompt_name == "helpdesk" and final.reply_id != final_of(first).reply_id


async def test_a_verified_hit_does_not_wait_for_the_model_and_remembers_only_the_cached_answer(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Open the portal and choose Reset password."))
    await h.ask("How do I reset my password?")
    # The normal path starts beside the verifier; this model would take 20 s to say anything.
    h.llm.script(MODEL, Reply("A slow answer nobody should see.", ttft_s=20.0))
    h.llm.script(JUDGE, Reply("yes"))
    started = time.monotonic()
    second = await h.ask("How can I reset my password?", channel="C2", user="U2")
    assert time.monotonic() - started < 10.0  # not held until the slow model answered
    assert final_of(second).cached and text_of(second) == "Open the portal and choose Reset password."
    _, history = await h.memory.load("slack:T1:C2:-")
    said = " ".join(str(m.get("content")) for m in history)
    assert "Open the portal" in said and "slow answer" not in said


async def test_near_miss_is_not_served_the_other_answer(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Password: use the portal."), Reply("MFA: call the service desk."))
    await h.ask("How do I reset my password?")
    other = await h.ask("How do I reset my MFA device?", channel="C2")
    assert not final_of(other).cached and final_of(other).text == "MFA: call the service desk."
    judged = h.judge_calls()  # the fake judge's default reply is not "yes": a miss
    negated = await h.ask("Why can't I reset my password?", channel="C3")
    assert not final_of(negated).cached and h.llm_calls() == 3
    assert h.judge_calls() == judged  # a negated question is never even a candidate


async def test_tenants_never_share_answers(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Tenant one's VPN guide."), Reply("Tenant two's VPN guide."))
    await h.ask("How do I connect to the VPN?", tenant="T1")
    other = await h.ask("How do I connect to the VPN?", tenant="T2")
    assert not final_of(other).cached and final_of(other).text == "Tenant two's VPN guide."
    again = await h.ask("How do I connect to the VPN?", tenant="T1", channel="C9")
    assert final_of(again).cached and final_of(again).text == "Tenant one's VPN guide."


async def test_other_bot_does_not_get_the_answer(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Helpdesk answer."), Reply("Support answer."))
    await h.ask("How do I export my data?", bot="helpdesk")
    other = await h.ask("How do I export my data?", bot="support")
    assert not final_of(other).cached and final_of(other).text == "Support answer."


async def test_reindexing_the_knowledge_base_invalidates_its_answers(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Old policy: 20 days."), Reply("New policy: 25 days."))
    await h.ask("How many vacation days do I get per year?")
    h.kb.bump("T1")
    after = await h.ask("How many vacation days do I get per year?", channel="C2")
    assert not final_of(after).cached and final_of(after).text == "New policy: 25 days."
    again = await h.ask("How many vacation days do I get per year?", channel="C3")
    assert final_of(again).cached and final_of(again).text == "New policy: 25 days."


async def test_a_followup_is_served_only_when_the_verifier_shown_its_turns_says_yes(h: Harness) -> None:
    def judge(body: dict[str, Any]) -> Reply | None:  # yes only for the same follow-up after the same turn
        if "cache-judge" not in body["model"]:
            return None
        prompt = body["messages"][-1]["content"]
        same = "A: and how about on Mac?" in prompt and prompt.count("Slack on Windows") == 2
        return Reply("yes" if same else "no")

    h.llm.responder = judge
    h.llm.script(MODEL, Reply("Install it from the software center."), Reply("On Mac use Self Service."))
    await h.ask("How do I install Slack on Windows?", thread="t1")
    follow = await h.ask("and how about on Mac?", thread="t1")
    assert not final_of(follow).cached  # the stored Windows question was a candidate; the verifier said no
    # the same follow-up after the same earlier turn: the verifier sees both conversations and says yes
    await h.ask("How do I install Slack on Windows?", thread="t2")  # an exact repeat: a hit, kept in memory
    again = await h.ask("and how about on Mac?", thread="t2")
    assert final_of(again).cached and final_of(again).text == "On Mac use Self Service."
    # after another earlier turn the verifier, shown it, says no: the model answers
    await h.ask("How do I install Zoom on Windows?", thread="t3")
    other = await h.ask("and how about on Mac?", thread="t3")
    assert not final_of(other).cached and "Self Service" not in final_of(other).text
    prompts = [r.body["messages"][-1]["content"] for r in h.llm.requests_for(JUDGE)]
    assert any("How do I install Zoom on Windows?" in p and "A: and how about on Mac?" in p for p in prompts)


async def test_strict_followups_are_neither_served_nor_stored(tmp_path: Path, redis: aioredis.Redis,
                                                              llm_server: FakeLLM) -> None:
    h = await build(tmp_path, redis, llm_server)
    profile = h.engine.profiles["helpdesk"]
    h.engine.profiles["helpdesk"] = profile.model_copy(update={"cache": {"followups": "strict"}})
    try:
        await h.ask("How do I install Slack on Windows?", thread="t1")
        await h.ask("How do I install Slack on Windows?", thread="t1")
        assert h.llm_calls() == 2 and h.judge_calls() == 0
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()


async def test_a_hit_is_kept_in_the_conversation_memory(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Use the portal."))
    await h.ask("How do I reset my password?", thread="a")
    await h.ask("How do I reset my password?", thread="b")
    _, history = await h.memory.load("slack:T1:C1:b")
    assert [m["role"] for m in history] == ["user", "assistant"] and history[1]["content"] == "Use the portal."


async def test_thumbs_down_on_a_cached_answer_evicts_it(h: Harness) -> None:
    h.llm.script(MODEL, Reply("A wrong answer."), Reply("A better answer."))
    await h.ask("What is the guest wifi password?")
    hit = final_of(await h.ask("What is the guest wifi password?", channel="C2"))
    assert hit.cached
    assert await h.cache.evict_reply(hit.reply_id)
    after = await h.ask("What is the guest wifi password?", channel="C3")
    assert not final_of(after).cached and final_of(after).text == "A better answer."
    assert not await h.cache.evict_reply("no-such-reply")


async def test_cache_flag_off_in_a_channel_skips_it(h: Harness) -> None:
    h.llm.script(MODEL, Reply("First."), Reply("Second."))
    await h.flags.set("slack", "T1", "cache", False, "admin", "C1")
    await h.ask("How do I book a meeting room?")
    again = await h.ask("How do I book a meeting room?")
    assert not final_of(again).cached and final_of(again).text == "Second."


async def test_retrieval_only_answers_are_not_stored(tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM) -> None:
    profiles = load_profiles(None)
    prompts = PromptLibrary.load(builtin_prompts_dir())
    no_model = LiteLLMGateway(llm_server.settings(), redis)  # no models configured: retrieval-only answers
    cache = await open_cache(CacheSettings(), tmp_path / "d", embedder(), redis, KbVersions())
    engine = Engine([FeaturesStage(FeatureFlags(redis)), CacheStage(cache)], GenerateStage(no_model, prompts), profiles)
    try:
        for channel in ("C1", "C2"):
            events = [e async for e in engine.handle(Inbound(platform="slack", bot="helpdesk", tenant="T1",
                                                            channel=channel, user="U1", text="How do I print?"))]
            assert final_of(events).retrieval_only and not final_of(events).cached
    finally:
        await cache.aclose()
        await no_model.aclose()


async def test_restart_keeps_the_cache(tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM) -> None:
    first = await build(tmp_path, redis, llm_server)
    llm_server.script(MODEL, Reply("Payday is the last working day."))
    await first.ask("When is payday?")
    await first.cache.aclose()
    await first.gateway.aclose()

    second = await build(tmp_path, redis, llm_server)
    try:
        events = await second.ask("When is payday?", channel="C5")
        assert final_of(events).cached and final_of(events).text == "Payday is the last working day."
    finally:
        await second.cache.aclose()
        await second.gateway.aclose()


async def test_size_bound_evicts_and_ttl_expires(tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM) -> None:
    h = await build(tmp_path, redis, llm_server, CacheSettings(max_entries=3, ttl_s=3600, judge_model=JUDGE))
    try:
        questions = ["How do I reset my password?", "How do I connect to the VPN?", "When is payday?",
                     "What is the dress code?", "How do I book a meeting room?"]
        for n, q in enumerate(questions):
            await h.ask(q, channel=f"C{n}")  # new conversations: no history, so nothing looks like a follow-up
        stats = await h.cache.stats("slack", "T1")
        assert stats["stat_cache_evictions"] >= 2 and stats["stat_cache_stored"] == 5
        newest = await h.ask(questions[-1], channel="D1")
        assert final_of(newest).cached
        oldest = await h.ask(questions[0], channel="D2")
        assert not final_of(oldest).cached  # evicted, answered by the model again
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()


async def test_entries_older_than_the_ttl_are_not_served(tmp_path: Path, redis: aioredis.Redis,
                                                         llm_server: FakeLLM) -> None:
    import sqlite3

    h = await build(tmp_path, redis, llm_server)
    try:
        await h.ask("How do I request time off?")
        for db in (tmp_path / "data" / "cache").rglob("sqlite.db"):  # age the stored entry by 8 days
            with sqlite3.connect(db) as conn:
                table = conn.execute("select name from sqlite_master where name like '%_question'").fetchone()[0]
                conn.execute(f"update {table} set create_on = datetime(create_on, '-8 days')")
        again = await h.ask("How do I request time off?", channel="C2")
        assert not final_of(again).cached
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()


async def test_stats_source_for_admins(h: Harness) -> None:
    h.llm.script(MODEL, Reply("Answer."))
    await h.ask("How do I submit an expense report?")
    h.llm.script(JUDGE, Reply("yes"))
    await h.ask("How can I submit an expense report?", channel="C2")
    await h.ask("hi")
    admin = AdminCommands(h.flags)
    admin.add_stats(h.cache.stats)
    profile = h.engine.profiles["helpdesk"]
    reply = await admin.handle(AdminContext(platform="slack", audience=Audience(tenant="T1", user="U9", role="deployment_admin", channel="C1"),
                                            profile=profile), "stats")
    assert "cache hits: 1" in reply.text and "cache misses: 1" in reply.text and "cache hit ratio: 50.0%" in reply.text
    assert "cache hit latency p50" in reply.text and "cache verifier yes/no: 1/0" in reply.text
    assert h.cache.counters["hits"] == 1 and h.cache.counters["skip:short"] == 1
