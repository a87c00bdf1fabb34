"""Model calls beside the answer go through core/llm/side.py: bounded, retried, logged; an optional one degrades."""

from __future__ import annotations

import asyncio

import pytest

from core.knowledge.build import SAMPLE_DIR, Knowledge
from core.knowledge.search import Reranker, Scope, Searcher
from core.llm.side import SideCallFailed, side_call


async def test_rerank_endpoint_down_gives_the_fused_ranking_not_an_error(kb: Knowledge, logs) -> None:
    await kb.ingest([str(SAMPLE_DIR)], "company")
    question = "How many vacation days do I get per year?"
    plain = await kb.searcher.search(question, ["company"], Scope("T1"))
    down = Searcher(kb.searcher.store, kb.searcher.embedder,
                    Reranker("cohere/rerank-v3.5", "http://127.0.0.1:9", "sk-test"))  # nothing listens there
    passages = await down.search(question, ["company"], Scope("T1"))
    assert passages and [p.source_id for p in passages] == [p.source_id for p in plain]
    calls = [e for e in logs.events() if e.get("event") == "llm.side_call"]
    assert calls and calls[-1]["kind"] == "rerank" and calls[-1]["outcome"] == "error"
    assert calls[-1]["attempts"] == 2  # a connection error is transient: retried once
    assert any(e.get("event") == "rerank_skipped" for e in logs.events())


async def test_a_hanging_side_call_is_cut_at_its_timeout(logs) -> None:
    async def hang() -> None:
        await asyncio.sleep(30)

    with pytest.raises(SideCallFailed) as failed:
        await side_call("vision", "openai/gpt-4o-mini", hang, timeout_s=0.2)
    assert failed.value.reason == "timeout"
    [event] = [e for e in logs.events() if e.get("event") == "llm.side_call"]
    assert event["outcome"] == "timeout" and event["kind"] == "vision"


async def test_a_client_error_is_not_retried(logs) -> None:
    tries = 0

    class BadRequest(Exception):
        status_code = 400

    async def refuse() -> None:
        nonlocal tries
        tries += 1
        raise BadRequest()

    with pytest.raises(SideCallFailed):
        await side_call("speech_to_text", "openai/whisper-1", refuse, retries=3)
    assert tries == 1
