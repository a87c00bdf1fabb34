"""The engine end to end: streaming order, fallbacks, the retrieval-only answer, refusals."""

from __future__ import annotations

from pathlib import Path

from core.models import Error, Final, TextDelta
from tests.fakes.llm_server import Cut, Fail, FakeLLM, Hang, Reply
from tests.support.runtime import FALLBACK, PRIMARY, ask, final_of, running, streamed_text


async def test_answer_streams_in_order_and_ends_with_one_final(tmp_path: Path, llm_server: FakeLLM) -> None:
    answer = "To reset your password open the self-service portal and follow the three steps shown there [1]."
    llm_server.script(PRIMARY, Reply(answer))
    async with running(tmp_path, llm_server) as rt:
        events = await ask(rt, "Where can I change my login secret?")
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3, "the answer should arrive in several pieces, not at once"
    assert streamed_text(events) == answer
    final = final_of(events)
    assert [e for e in events if isinstance(e, (Final, Error))] == [final]
    assert final.text == answer
    assert final.model and "gpt-4o-mini" in final.model
    assert final.usage.prompt_tokens > 0 and final.usage.completion_tokens > 0
    assert final.usage.cost_usd > 0, "cost comes from litellm's price map for gpt-4o-mini"
    assert (final.prompt_name, final.prompt_version) == ("helpdesk", "v1")
    assert not final.retrieval_only


async def test_a_failing_primary_falls_back_to_the_second_model(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Fail(500))
    llm_server.script(FALLBACK, Reply("Answer from the fallback model [1]."))
    async with running(tmp_path, llm_server, models=(PRIMARY, FALLBACK)) as rt:
        events = await ask(rt, "What is the VPN address for the Berlin office?")
    final = final_of(events)
    assert final.text == "Answer from the fallback model [1]."
    assert final.model and "gpt-4o" in final.model and "mini" not in final.model


async def test_a_hanging_primary_is_timed_out_and_the_fallback_answers(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Hang())
    llm_server.script(FALLBACK, Reply("Fallback answer after a hang [1]."))
    async with running(tmp_path, llm_server, models=(PRIMARY, FALLBACK),
                       llm={"first_token_timeout_s": 0.5}) as rt:
        events = await ask(rt, "How many vacation days do new employees get?")
    assert final_of(events).text == "Fallback answer after a hang [1]."


async def test_when_every_model_fails_the_user_gets_a_labelled_retrieval_only_answer(
        tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Fail(503), Fail(503))
    llm_server.script(FALLBACK, Fail(500), Fail(500))
    async with running(tmp_path, llm_server, models=(PRIMARY, FALLBACK)) as rt:
        events = await ask(rt, "How do I reset my password?")
    final = final_of(events)
    assert final.retrieval_only
    assert "language model is unavailable" in final.text
    assert streamed_text(events) == final.text, "the labelled answer is shown, not only recorded"


async def test_without_any_model_deskmate_still_answers(tmp_path: Path) -> None:
    async with running(tmp_path) as rt:
        assert not rt.gateway.available
        events = await ask(rt, "How do I reset my password?")
    final = final_of(events)
    assert final.retrieval_only and final.model is None
    assert "language model is unavailable" in final.text


async def test_the_circuit_breaker_stops_calling_a_dead_model(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, *[Fail(500)] * 10)
    async with running(tmp_path, llm_server, models=(PRIMARY, FALLBACK),
                       llm={"breaker_failures": 2, "breaker_reset_s": 60}) as rt:
        for n in range(4):
            events = await ask(rt, f"Question number {n} about expense reports?", channel=f"C{n}")
            assert final_of(events).model and "mini" not in final_of(events).model
    assert len(llm_server.requests_for(PRIMARY)) == 2, "after two failures the primary is skipped at once"
    assert len(llm_server.requests_for(FALLBACK)) == 4


async def test_a_stream_cut_mid_answer_ends_with_a_clear_error(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Cut(after_chunks=3))
    async with running(tmp_path, llm_server, models=(PRIMARY, FALLBACK)) as rt:
        events = await ask(rt, "Explain the laptop refresh policy in detail please")
    assert any(isinstance(e, TextDelta) for e in events)
    last = events[-1]
    assert isinstance(last, Error) and last.code == "stream_interrupted"
    assert "cut off" in last.message
    assert not llm_server.requests_for(FALLBACK), "text already shown cannot be replaced by another model"


async def test_empty_and_oversized_messages_are_refused_clearly(tmp_path: Path, llm_server: FakeLLM) -> None:
    async with running(tmp_path, llm_server, limits={"max_message_chars": 100}) as rt:
        empty = await ask(rt, "  \x00\x01 ")
        huge = await ask(rt, "x" * 150)
    assert isinstance(empty[-1], Error) and empty[-1].code == "empty_message"
    assert isinstance(huge[-1], Error) and huge[-1].code == "message_too_long"
    assert "150" in huge[-1].message and "100" in huge[-1].message
    assert not llm_server.requests, "refused messages never reach the model"


async def test_replies_follow_the_language_of_the_message_not_the_client_locale(tmp_path: Path,
                                                                                  llm_server: FakeLLM) -> None:
    async with running(tmp_path, llm_server, limits={"max_message_chars": 100}) as rt:
        too_long_ru = await ask(rt, "очень длинный вопрос " * 8, locale="en")
        too_long_en = await ask(rt, "a very long question " * 8, locale="ru")
        empty = await ask(rt, "", locale="ru")  # nothing to detect: the profile's language (en)
        await ask(rt, "Сколько дней отпуска у меня в году?", locale="en-US")
    assert isinstance(too_long_ru[-1], Error) and "Сообщение слишком длинное" in too_long_ru[-1].message
    assert isinstance(too_long_en[-1], Error) and "too long" in too_long_en[-1].message
    assert isinstance(empty[-1], Error) and "empty" in empty[-1].message
    system = llm_server.requests[-1].body["messages"][0]["content"]
    assert "in Russian" in system, "a Russian question from an English-locale client is answered in Russian"


async def test_prompt_ab_assignment_is_sticky_per_user_and_recorded(tmp_path: Path, llm_server: FakeLLM) -> None:
    async with running(tmp_path, llm_server) as rt:
        versions: dict[str, set[str]] = {}
        for user in [f"user{n}" for n in range(12)]:
            for q in ("Where is my order number seven?", "Can I return shoes after thirty days?"):
                final = final_of(await ask(rt, q, bot="support", user=user, channel=f"chat-{user}-{q[:5]}"))
                versions.setdefault(user, set()).add(final.prompt_version or "")
    assert all(len(v) == 1 for v in versions.values()), "a user always gets the same prompt version"
    assert {v for vs in versions.values() for v in vs} == {"v1", "v2"}, "both variants are served"
