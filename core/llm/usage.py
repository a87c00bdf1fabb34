"""Tokens and cost of one model call: the provider's own counts when it sent them, else counted here.

A server that sends no usage (llama-cpp-python's stream, some proxies) is counted with litellm's token counter.
For a model litellm knows, that is the model's own tokenizer (or its family's) and the counts are taken as exact;
for any other model litellm falls back to a generic tokenizer and the counts are marked `estimated`, which the
logs, metrics and `deskmate report` show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.llm.capabilities import knows_model
from core.models import Usage


def _litellm() -> Any:
    import litellm

    return litellm


def cost_usd(model: str, prompt: int, completion: int) -> float:
    try:
        parts = _litellm().cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
        return float(sum(parts))
    except Exception:  # no price for this model (local server, custom name): cost unknown, not an error
        return 0.0


def counted(model: str, messages: Sequence[dict[str, Any]], text: str,
            tools: Sequence[dict[str, Any]] | None = None) -> Usage:
    """Usage counted locally: the prompt as sent (messages and tool schemas) and the answer text."""
    litellm = _litellm()
    try:
        prompt = int(litellm.token_counter(model=model, messages=list(messages), tools=list(tools) if tools else None))
    except Exception:  # a message shape the counter does not take: count the text parts only
        joined = "\n".join(str(m.get("content") or "") for m in messages)
        prompt = int(litellm.token_counter(model=model, text=joined))
    completion = int(litellm.token_counter(model=model, text=text)) if text else 0
    return Usage(prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost_usd(model, prompt, completion),
                 estimated=not knows_model(model))


def _litellm_filled_in(model: str, prompt: int, messages: Sequence[dict[str, Any]]) -> bool:
    """litellm fills in a stream's missing usage with its own count of the messages alone (no tool schemas). That
    count is recognised by being equal to the same count made here; a server's own count matches it only by chance
    (its tokenizer and chat template differ), and then counting again gives the same number anyway."""
    try:
        return prompt == int(_litellm().token_counter(model=model, messages=list(messages)))
    except Exception:
        return False


def reported(model: str, prompt: int | None, completion: int | None, messages: Sequence[dict[str, Any]], text: str,
             tools: Sequence[dict[str, Any]] | None = None) -> Usage:
    """The provider's counts when it sent them, else counted here (a server that sends 0 prompt tokens sent none)."""
    # Only checked where it changes something: a model litellm does not know (the count is then an estimate), or a
    # request with tool schemas (litellm's count leaves them out).
    suspect = bool(tools) or not knows_model(model)
    if prompt and completion is not None and not (suspect and _litellm_filled_in(model, prompt, messages)):
        return Usage(prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost_usd(model, prompt, completion))
    return counted(model, messages, text, tools)
