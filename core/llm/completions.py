"""A gateway's Completion from what litellm returned: text, tool calls, usage and cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.llm import usage
from core.llm.assemble import StreamAssembler
from core.llm.settings import ModelEndpoint
from core.llm.types import Completion, ToolCallRequest


def tool_calls_of(message: Any) -> tuple[ToolCallRequest, ...]:
    calls = getattr(message, "tool_calls", None) or []
    return tuple(
        ToolCallRequest(call_id=c.id or "", name=c.function.name or "", arguments_json=c.function.arguments or "")
        for c in calls
    )


def completion_of(response: Any, ep: ModelEndpoint, fallbacks: int, messages: Sequence[dict[str, Any]]) -> Completion:
    choice = response.choices[0]
    text = choice.message.content or ""
    sent = getattr(response, "usage", None)
    return Completion(
        model=ep.model,
        text=text,
        usage=usage.reported(ep.model, getattr(sent, "prompt_tokens", None),
                             getattr(sent, "completion_tokens", None), messages, text),
        tool_calls=tool_calls_of(choice.message),
        finish_reason=choice.finish_reason,
        fallbacks_used=fallbacks,
    )


def streamed_completion(parts: StreamAssembler, messages: Sequence[dict[str, Any]], ep: ModelEndpoint,
                        fallbacks: int, tools: Sequence[dict[str, Any]] | None) -> Completion:
    """The Completion of a stream; tokens counted by litellm when the provider sent no usage."""
    text = parts.text
    return Completion(
        model=ep.model,
        text=text,
        usage=usage.reported(ep.model, parts.prompt_tokens, parts.completion_tokens, messages, text, tools),
        tool_calls=parts.tool_calls(),
        finish_reason=parts.finish_reason,
        fallbacks_used=fallbacks,
    )
