"""A reply closed before its end (a Stop seen between two events: the stream is closed at a yield, not
cancelled): the model call ends at once, not when the generators are collected, and memory keeps what was shown."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from core.models import TextDelta
from tests.fakes.llm_server import FakeLLM, Reply
from tests.support.runtime import PRIMARY, inbound, running


async def test_closing_a_reply_at_a_yield_closes_the_model_call_now(tmp_path: Path, llm_server: FakeLLM) -> None:
    llm_server.script(PRIMARY, Reply(" ".join(f"word{i}" for i in range(300)) + ".", chunk_delay_s=0.02))
    gc.disable()  # nothing may rely on the garbage collector closing the stages
    try:
        async with running(tmp_path, llm_server) as rt:
            message = inbound("tell me everything")
            events = rt.engine.handle(message)
            shown = ""
            async for event in events:
                if isinstance(event, TextDelta):
                    shown += event.text
                    if "word5" in shown:
                        break
            await events.aclose()  # what core/ops/closing.py does when the cut comes between two events
            for _ in range(50):
                if llm_server.streams_cut:
                    break
                await asyncio.sleep(0.02)  # ~a chunk's time: the connection is closed, not left to the collector
            cut, sent = llm_server.streams_cut, llm_server.chunks_sent
            await asyncio.sleep(0.2)
            _, memory = await rt.memory.load(message.conversation_key)
    finally:
        gc.enable()
    assert cut == 1 and llm_server.chunks_sent == sent < 300 and llm_server.streams_completed == 0
    assert [m["role"] for m in memory] == ["user", "assistant"]
    assert memory[1]["content"].startswith("word0") and "word299" not in memory[1]["content"]
