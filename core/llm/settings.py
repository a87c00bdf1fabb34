"""LLM settings: one model from env variables, or several endpoints from the YAML file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from core.config_types import CommaList

ToolSupport = Literal["native", "none"]


class ModelEndpoint(BaseModel):
    """One model with its own endpoint and key (e.g. a primary on one provider, a fallback on another)."""

    model: str  # a litellm model string, e.g. "openai/gpt-4o-mini"
    api_base: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float | None = None  # overrides LLMSettings.timeout_s
    # Capabilities; unset = a default by provider and place (core/llm/capabilities.py).
    needs_key: bool | None = None  # local servers default to no key (a placeholder is sent)
    tools: ToolSupport | None = None  # "native": send tool schemas; "none": never (calls written as text are parsed)
    context_window: int | None = Field(default=None, gt=0)  # input tokens
    max_tokens: int | None = Field(default=None, gt=0)  # overrides LLMSettings.max_tokens
    first_token_timeout_s: float | None = Field(default=None, gt=0)  # local endpoints default to 120 s


class LLMSettings(BaseModel):
    model: str | None = None  # unset = no model: retrieval-only answers
    api_base: str | None = None
    api_key: SecretStr | None = None
    fallbacks: CommaList = Field(default_factory=list)  # env: comma-separated model strings
    models: list[ModelEndpoint] = Field(default_factory=list)  # YAML: full chain, overrides the above
    timeout_s: float = Field(default=30.0, gt=0)  # whole request, per attempt
    # A hang before the first token. None: by place, 15 s for a hosted model, 120 s for a local one (a slow prefill
    # on a small machine); a value set here applies to every model (an endpoint's own value still wins).
    first_token_timeout_s: float | None = Field(default=None, gt=0)
    # One budget for the whole fallback chain to start an answer (first token), shared by every model tried;
    # spent, the user gets the retrieval-only answer. Unset = the primary's first-token timeout + 2 s.
    answer_deadline_s: float | None = Field(default=None, gt=0)
    num_retries: int = Field(default=1, ge=0, le=10)  # per model, litellm's retry with backoff
    breaker_failures: int = Field(default=3, ge=1)  # consecutive failures that open the breaker
    breaker_reset_s: float = Field(default=30.0, gt=0)  # open -> half-open after this long
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=640, gt=0)  # a helpdesk answer; stops runaway generations
    # Capabilities for the env-configured chain (model + fallbacks); YAML `models:` set them per endpoint.
    needs_key: bool | None = None
    tools: ToolSupport | None = None
    context_window: int | None = Field(default=None, gt=0)

    def chain(self) -> list[ModelEndpoint]:
        """The ordered list of endpoints to try: `models` if given, else model + fallbacks."""
        if self.models:
            return list(self.models)
        if not self.model:
            return []
        shared = {"api_base": self.api_base, "api_key": self.api_key, "needs_key": self.needs_key,
                  "tools": self.tools, "context_window": self.context_window}
        return [ModelEndpoint(model=m, **shared) for m in (self.model, *self.fallbacks)]
