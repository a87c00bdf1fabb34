"""Conversation memory: the window follows the conversation, folds into a summary, stays scoped."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis

from core.memory.settings import MemorySettings
from core.memory.window import ConversationMemory
from core.prompts import PromptLibrary, builtin_prompts_dir
from tests.fakes.llm_server import FakeLLM, Reply
from tests.support.runtime import PRIMARY, ask, final_of, running


def _chat_requests(fake: FakeLLM) -> list[dict]:
    return [r.body for r in fake.requests_for(PRIMARY)  # answers only: no summaries, no cache verifier judgements
            if "running summary" not in r.body["messages"][0]["content"]
            and "answer cache" not in r.body["messages"][0]["content"]]


async def test_a_follow_up_sees_the_earlier_exchange(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply("Your laptop model is the ThinkPad T14."), Reply("It ships in two days."))
    async with running(tmp_path, llm_server) as rt:
        await ask(rt, "Which laptop model do engineers get?", channel="C-mem")
        await ask(rt, "And how fast does it ship?", channel="C-mem")
        await ask(rt, "Unrelated question in another channel?", channel="C-other")
    _first, second, other = _chat_requests(llm_server)
    contents = [m["content"] for m in second["messages"]]
    assert "Which laptop model do engineers get?" in contents
    assert "Your laptop model is the ThinkPad T14." in contents
    assert contents[-1] == "And how fast does it ship?"
    assert all("ThinkPad" not in m["content"] for m in other["messages"]), "memory is per conversation"


async def test_memory_is_scoped_by_tenant(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply("Secret project Falcon launches Monday."))
    async with running(tmp_path, llm_server) as rt:
        await ask(rt, "When does the project launch?", tenant="T-A", channel="general")
        await ask(rt, "What did you tell me before?", tenant="T-B", channel="general")
        other = _chat_requests(llm_server)[-1]
        await ask(rt, "What did you tell me before?", tenant="T-A", channel="general")
        same = _chat_requests(llm_server)[-1]
    assert all("Falcon" not in m["content"] for m in other["messages"])  # another workspace: nothing remembered
    assert any("Falcon" in m["content"] for m in same["messages"] if m["role"] == "assistant")  # its own: kept


async def test_old_turns_fold_into_an_llm_summary_that_later_prompts_carry(
        tmp_path: Path, llm_server: FakeLLM) -> None:
    def responder(body: dict) -> Reply:
        if "running summary" in body["messages"][0]["content"]:
            return Reply("SUMMARY: user asked about VPN, printers and badges.")
        return Reply("A fairly long answer " + "with many words " * 12)

    llm_server.responder = responder
    async with running(tmp_path, llm_server, memory={"max_tokens": 200}) as rt:
        for q in ("How do I set up the VPN?", "Where is the printer on floor 3?", "How do I get a new badge?",
                  "Can I expense a monitor?", "Who approves remote work?"):
            final_of(await ask(rt, q, channel="C-fold"))
            await rt.memory.settled()  # folds run in the background, after the answer
        summary, history = await rt.memory.load("console:T1:C-fold:-")
        final_of(await ask(rt, "And one more about parking?", channel="C-fold"))
    summary_calls = [r for r in llm_server.requests_for(PRIMARY)
                     if "running summary" in r.body["messages"][0]["content"]]
    assert summary_calls, "the window overflowed, so the model was asked for a summary"
    assert summary == "SUMMARY: user asked about VPN, printers and badges."
    assert len(history) < 10, "folded turns left the window"
    system = _chat_requests(llm_server)[-1]["messages"][0]["content"]
    assert "SUMMARY: user asked about VPN" in system, "the summary reaches the next prompt"


async def test_without_a_model_old_turns_fold_into_an_extractive_note(redis: aioredis.Redis) -> None:
    from core.llm.gateway import LiteLLMGateway
    from core.llm.settings import LLMSettings

    memory = ConversationMemory(redis, MemorySettings(max_tokens=60), LiteLLMGateway(LLMSettings(), redis),
                                PromptLibrary.load(builtin_prompts_dir()))
    for n in range(6):
        await memory.append("c1", [{"role": "user", "content": f"question {n} about printers"},
                                   {"role": "assistant", "content": "an answer " * 8}])
        await memory.settled()  # the fold runs in the background, off the answer's path
    summary, history = await memory.load("c1")
    assert "Earlier the user asked" in summary and "question 0 about printers" in summary
    assert history and history[-1]["content"].startswith("an answer")
    assert len(history) < 12


async def test_idle_conversations_expire(redis: aioredis.Redis) -> None:
    from core.llm.gateway import LiteLLMGateway
    from core.llm.settings import LLMSettings

    memory = ConversationMemory(redis, MemorySettings(ttl_s=3600), LiteLLMGateway(LLMSettings(), redis),
                                PromptLibrary.load(builtin_prompts_dir()))
    await memory.append("c-ttl", [{"role": "user", "content": "hi"}])
    ttl = await redis.ttl("dm:mem:c-ttl")
    assert 0 < ttl <= 3600


async def test_a_slow_summary_never_holds_back_the_end_of_the_answer(tmp_path: Path, llm_server: FakeLLM) -> None:
    """The fold runs after the answer's last event, in the background: the user's reply ends at once."""
    import time

    def responder(body: dict) -> Reply:
        if "running summary" in body["messages"][0]["content"]:
            return Reply("SUMMARY: slow.", ttft_s=2.0)  # a real model's summary takes its time
        return Reply("A fairly long answer " + "with many words " * 12)

    llm_server.responder = responder
    async with running(tmp_path, llm_server, memory={"max_tokens": 120}) as rt:
        ends = []
        for q in ("How do I set up the VPN?", "Where is the printer on floor 3?", "How do I get a new badge?"):
            started = time.monotonic()
            final_of(await ask(rt, q, channel="C-slow"))  # the whole event stream, to its end
            ends.append(time.monotonic() - started)
        folding = bool(rt.memory.folding)
        await rt.memory.settled()
        summary, _ = await rt.memory.load("console:T1:C-slow:-")
    assert summary == "SUMMARY: slow.", "the window overflowed and was folded"
    assert max(ends) < 2.0, ends  # no answer waited for the 2 s summary call
    assert folding, "the fold was still running when the answers had ended"
