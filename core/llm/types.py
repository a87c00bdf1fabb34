"""What the LLM gateway yields. Provider-neutral; no litellm types leak out of core/llm."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.llm.health import ModelHealth
from core.models import Usage


@dataclass(frozen=True)
class TextChunk:
    text: str


@dataclass(frozen=True)
class ToolCallRequest:
    call_id: str
    name: str
    arguments_json: str  # raw JSON text from the model; validated by the tool registry


@dataclass(frozen=True)
class Completion:
    """The end of one model call: which model answered, full text, tool calls, usage and cost."""

    model: str
    text: str
    usage: Usage
    tool_calls: tuple[ToolCallRequest, ...] = ()
    finish_reason: str | None = None
    fallbacks_used: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Gateway(Protocol):
    health: ModelHealth  # configuration problems per model (core/llm/health.py)

    @property
    def available(self) -> bool:
        """True when at least one model is configured (it may still fail at call time)."""
        ...

    def stream(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        request_id: str = "",
    ) -> AsyncIterator[TextChunk | Completion]:
        """Stream one answer: TextChunk* then exactly one Completion.

        Raises core.errors.ModelUnavailable when no model could start an answer (none configured,
        all failed, timed out or circuit-broken), and core.errors.StreamInterrupted when a model
        failed after text was already yielded (text cannot be taken back, so no fallback then).
        """
        ...

    async def complete(
        self, messages: Sequence[dict[str, Any]], *, max_tokens: int | None = None, request_id: str = "",
        kind: str = "side",
    ) -> Completion:
        """One non-streaming call through the same chain (used for summaries, query rewrites), charged to the
        tenant as side usage of `kind`."""
        ...
