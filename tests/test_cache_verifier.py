"""The cache's verifier and audience rules end to end: fake provider on the wire (a scripted judge model),
real embedded Redis, real sqlite + faiss stores, the real local embedder, a real knowledge base for access groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.audience import Audience
from core.cache import CacheSettings, open_cache
from core.cache.stage import CacheStage
from core.cache.verifier import first_word_yes
from core.engine import Engine
from core.knowledge.stage import RetrievalStage
from core.memory.stage import MemoryStage
from core.models import Final, Inbound, ReplyEvent
from core.stages.features import FeaturesStage
from core.stages.generate import GenerateStage
from tests.fakes.llm_server import Fail, FakeLLM, Hang, Reply
from tests.test_cache_engine import JUDGE, MODEL, Harness, KbVersions, build, final_of


@pytest.fixture
async def h(tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM) -> Any:
    harness = await build(tmp_path, redis, llm_server, CacheSettings(judge_model=JUDGE, judge_timeout_s=1.0))
    yield harness
    await harness.cache.aclose()
    await harness.gateway.aclose()


async def seed(h: Harness, text: str, answer: str) -> None:
    h.llm.script(MODEL, Reply(answer))
    assert not final_of(await h.ask(text, channel="seed")).cached


def test_first_word_must_be_exactly_yes() -> None:
    assert first_word_yes("yes") and first_word_yes("Yes.") and first_word_yes(" **YES** they match")
    assert not first_word_yes("no") and not first_word_yes("Yesterday") and not first_word_yes("I think yes")
    assert not first_word_yes("") and not first_word_yes("да")


@pytest.mark.parametrize("verdict", [Reply("No."), Reply("Maybe, yes"), Reply("Yesterday's question"),
                                     Fail(500), Hang()])
async def test_anything_but_yes_is_a_miss_and_counted(h: Harness, verdict: Any) -> None:
    await seed(h, "How do I enable dark mode in the app?", "Settings, Appearance, Dark: on.")
    h.llm.script(JUDGE, verdict)
    h.llm.script(MODEL, Reply("To turn dark mode off: Settings, Appearance, Dark: off."))
    events = await h.ask("How do I disable dark mode in the app?", channel="C2")
    final = final_of(events)
    assert not final.cached and final.text.startswith("To turn dark mode off")
    outcome = {Fail: "error", Hang: "timeout"}.get(type(verdict), "no")
    assert h.cache.counters[f"verify_{outcome}"] == 1 and h.cache.counters["hits"] == 0


async def test_judgements_are_memoised_per_question_pair(h: Harness) -> None:
    await seed(h, "What is the guest wifi password?", "It is on the reception desk card.")
    h.llm.script(JUDGE, Reply("yes"))
    assert final_of(await h.ask("What's the password of the guest wi-fi?", channel="C2")).cached
    assert final_of(await h.ask("What's the password of the guest wi-fi?", channel="C3")).cached
    assert h.judge_calls() == 1 and h.cache.counters["verify_memo"] == 1


async def test_a_yes_cancels_the_answer_already_under_way(h: Harness) -> None:
    await seed(h, "How do I book a meeting room?", "Use the Rooms tab in the calendar.")
    h.llm.script(JUDGE, Reply("yes", ttft_s=0.3))
    h.llm.script(MODEL, Reply("A slow fresh answer that must never be shown.", ttft_s=5.0))
    events = await h.ask("How can I reserve a meeting room?", channel="C2")
    assert final_of(events).cached and final_of(events).text == "Use the Rooms tab in the calendar."
    assert "never be shown" not in str(events)
    assert h.llm_calls() == 2  # the normal path had already asked the model while the verifier decided
    _, history = await h.memory.load("slack:T1:C2:-")
    assert [m["content"] for m in history] == ["How can I reserve a meeting room?",
                                               "Use the Rooms tab in the calendar."]


async def test_with_no_model_only_exact_repeats_are_served(tmp_path: Path, redis: aioredis.Redis,
                                                           llm_server: FakeLLM) -> None:
    h = await build(tmp_path, redis, llm_server)
    await h.cache.aclose()
    # the same stores, opened without any model to verify with
    h.cache = await open_cache(CacheSettings(), tmp_path / "data", h.cache.embedder, redis, h.kb)
    engine = Engine([FeaturesStage(h.flags), MemoryStage(h.memory), CacheStage(h.cache)],
                    h.engine.terminal, h.engine.profiles)
    h.engine = engine
    try:
        await seed(h, "How do I reset my password?", "Use the portal.")
        assert not final_of(await h.ask("How can I reset my password?", channel="C2")).cached
        assert final_of(await h.ask("how do I reset my password", channel="C3")).cached
        assert h.judge_calls() == 0
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()


def hr_inbound(text: str, channel: str, groups: tuple[str, ...]) -> Inbound:
    audience = Audience(tenant="T1", user="U1", role="member", place="dm" if groups else "public_channel",
                        channel=channel, access_groups=groups)
    return Inbound(platform="slack", bot="helpdesk", tenant="T1", channel=channel, user="U1", text=text,
                   audience=audience)


async def test_an_answer_from_an_hr_document_is_never_served_to_a_public_audience(
        tmp_path: Path, redis: aioredis.Redis, llm_server: FakeLLM, kb: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Parental leave\n\nEmployees get 20 weeks of paid parental leave.\n")
    (docs / "printing.md").write_text("# Printing\n\nPrint from any office printer with your badge.\n")
    await kb.ingest([str(docs / "leave.md")], "hrdocs", access_group="hr")
    await kb.ingest([str(docs / "printing.md")], "hrdocs")
    h = await build(tmp_path, redis, llm_server, kb=KbVersions())
    profile = h.engine.profiles["helpdesk"].model_copy(update={"collections": ("hrdocs",)})
    stages = [FeaturesStage(h.flags), MemoryStage(h.memory), CacheStage(h.cache), RetrievalStage(kb)]
    engine = Engine(stages, GenerateStage(h.gateway, h.engine.terminal.prompts), {"helpdesk": profile})

    async def ask(text: str, channel: str, groups: tuple[str, ...]) -> list[ReplyEvent]:
        return [e async for e in engine.handle(hr_inbound(text, channel, groups))]

    try:
        h.llm.script(MODEL, Reply("You get 20 weeks of paid parental leave [1]."), Reply("Ask HR [1]."))
        first = final_of(await ask("How long is paid parental leave?", "D1", ("hr",)))
        assert not first.cached and first.citations
        # a public channel is another scope (its audience key): the hr answer is never served there
        public = final_of(await ask("How long is paid parental leave?", "C1", ()))
        assert not public.cached and "20 weeks" not in public.text
        # the hr audience still gets its own cached answer, the public one its own
        hr_again = final_of(await ask("How long is paid parental leave?", "D2", ("hr",)))
        assert hr_again.cached and "20 weeks" in hr_again.text
        assert "20 weeks" not in final_of(await ask("How long is paid parental leave?", "C2", ())).text
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()


async def test_an_entry_made_from_an_hr_passage_is_not_served_to_a_public_audience_in_its_scope(
        h: Harness) -> None:
    from core.models import Final, Passage

    # however an hr passage reached an answer in a public scope, the entry keeps its group
    turn = h.engine.new_turn(hr_inbound("What is the bonus policy?", "C1", ()))
    lookup = await h.cache.exact(turn)
    await h.cache.find(turn, lookup)
    turn.passages = [Passage(source_id="bonus.md#1", text="Bonuses: 10 %.", metadata={"access": "hr"})]
    await h.cache.store(lookup, turn, Final(reply_id="r1", text="Bonuses are 10 % [1].", model=MODEL))
    events = [e async for e in h.engine.handle(hr_inbound("What is the bonus policy?", "C2", ()))]
    assert not final_of(events).cached and "10 %" not in final_of(events).text
    assert h.cache.counters["hits"] == 0
    # an entry whose passages are all public is served to the same public audience
    turn = h.engine.new_turn(hr_inbound("Where is the canteen?", "C1", ()))
    lookup = await h.cache.exact(turn)
    await h.cache.find(turn, lookup)
    turn.passages = [Passage(source_id="site.md#1", text="Canteen: floor 2.", metadata={"access": "*"})]
    await h.cache.store(lookup, turn, Final(reply_id="r2", text="Floor 2 [1].", model=MODEL))
    events = [e async for e in h.engine.handle(hr_inbound("where is the canteen", "C3", ()))]
    assert final_of(events).cached and final_of(events).text == "Floor 2 [1]."


async def test_final_is_last_and_single_on_a_verified_miss(h: Harness) -> None:
    await seed(h, "When is payday?", "The last working day of the month.")
    h.llm.script(JUDGE, Reply("no"))
    h.llm.script(MODEL, Reply("Payday for contractors is on the 15th."))
    events = await h.ask("When is payday for contractors?", channel="C2")
    assert sum(isinstance(e, Final) for e in events) == 1 and isinstance(events[-1], Final)


@pytest.mark.parametrize(("verdict", "outcome"), [(Reply("Yes, same question."), "yes"), (Reply("no"), "no"),
                                                  (Reply("Yesterday"), "no"), (Fail(503), "error"),
                                                  (Hang(), "timeout")])
async def test_the_main_models_judge_gets_one_attempt_and_the_same_verdicts(tmp_path: Path, redis: aioredis.Redis,
                                                                           llm_server: FakeLLM, verdict: Any,
                                                                           outcome: str) -> None:
    # No judge model: the main model judges, through one direct call (the answers' Router would retry a 503
    # twice here while the user waits); anything but a first-word yes, an error or a timeout is a miss.
    h = await build(tmp_path, redis, llm_server, CacheSettings(judge_timeout_s=1.0), num_retries=2)
    try:
        await seed(h, "How do I enable dark mode in the app?", "Settings, Appearance, Dark: on.")
        llm_server.judge = lambda body: verdict
        h.llm.script(MODEL, Reply("A fresh answer."))
        final = final_of(await h.ask("How can I switch the app to dark mode?", channel="C2"))
        assert final.cached == (outcome == "yes")
        assert len(llm_server.judge_requests) == 1, "one attempt, never retried"
        assert h.cache.counters[f"verify_{outcome}"] == 1
        if outcome == "yes":  # remembered: the same pair again is not judged again
            assert final_of(await h.ask("How can I switch the app to dark mode?", channel="C3")).cached
            assert len(llm_server.judge_requests) == 1 and h.cache.counters["verify_memo"] == 1
    finally:
        await h.cache.aclose()
        await h.gateway.aclose()
