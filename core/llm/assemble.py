"""Assembling one streamed chat completion in one pass: text parts, tool-call deltas, finish reason and usage.

litellm normalises every provider's stream into chunks of OpenAI's shape (`choices[0].delta`, `usage`); the gateway
reads litellm's public stream and hands each chunk here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from core.llm.types import ToolCallRequest


@dataclass
class _ToolCall:
    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class StreamAssembler:
    """Accumulates one streamed answer: text parts, tool-call deltas (by index), finish reason and usage."""

    parts: list[str] = field(default_factory=list)
    calls: dict[int, _ToolCall] = field(default_factory=dict)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def add(self, chunk: Any) -> str:
        """Take one chunk; returns its text (may be empty)."""
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        choices = getattr(chunk, "choices", None) or []
        if not choices:
            return ""
        choice = choices[0]
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        delta = choice.delta
        if delta is None:
            return ""
        for call in getattr(delta, "tool_calls", None) or []:
            slot = self.calls.setdefault(int(getattr(call, "index", 0) or 0), _ToolCall())
            if getattr(call, "id", None):
                slot.call_id = call.id
            function = getattr(call, "function", None)
            if function is not None:
                if getattr(function, "name", None):
                    slot.name = function.name
                if getattr(function, "arguments", None):
                    slot.arguments.append(function.arguments)
        text = getattr(delta, "content", None) or ""
        if text:
            self.parts.append(text)
        return text

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def tool_calls(self) -> tuple[ToolCallRequest, ...]:
        return tuple(
            ToolCallRequest(call_id=c.call_id, name=c.name, arguments_json="".join(c.arguments))
            for _, c in sorted(self.calls.items())
        )


async def first_chunks(chunks: Any, parts: StreamAssembler) -> list[str] | None:
    """Read until the first chunk with substance (text, a tool call or a finish); the texts read so far,
    or None when the stream ended before that."""
    texts: list[str] = []
    while True:  # anext, not `async for`: the loop below goes on reading the same iterator
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            return None
        text = parts.add(chunk)
        if text:
            texts.append(text)
        if text or parts.calls or parts.finish_reason:  # the first chunk with substance
            return texts


async def close_stream(stream: Any) -> None:
    closer = getattr(stream, "aclose", None)
    if closer is None:
        return
    try:
        await closer()
    except Exception:  # closing a broken stream may raise again; nothing left to do
        return


async def read_out(chunks: Any, stream: Any, idle_s: float) -> None:
    """Read a stream whose answer is complete to its end (the client's end-of-stream work and callbacks run
    there), then close it. Best effort, in the background: a stall or an error only ends it early."""
    try:
        while True:
            async with asyncio.timeout(idle_s):
                await anext(chunks)
    except Exception:  # its end (StopAsyncIteration), a stall (TimeoutError) or a broken stream
        pass
    finally:
        await close_stream(stream)
