"""LLM settings: one model from env variables, or several endpoints from the YAML file."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from core.config_types import CommaList


class ModelEndpoint(BaseModel):
    """One model with its own endpoint and key (e.g. a primary on one provider, a fallback on another)."""

    model: str  # a litellm model string, e.g. "openai/gpt-4o-mini"
    api_base: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float | None = None  # overrides LLMSettings.timeout_s


class LLMSettings(BaseModel):
    model: str | None = None  # unset = no model: retrieval-only answers
    api_base: str | None = None
    api_key: SecretStr | None = None
    fallbacks: CommaList = Field(default_factory=list)  # env: comma-separated model strings
    models: list[ModelEndpoint] = Field(default_factory=list)  # YAML: full chain, overrides the above
    timeout_s: float = Field(default=30.0, gt=0)  # whole request, per attempt
    first_token_timeout_s: float = Field(default=15.0, gt=0)  # a hang before the first token
    num_retries: int = Field(default=1, ge=0, le=10)  # per model, litellm's retry with backoff
    breaker_failures: int = Field(default=3, ge=1)  # consecutive failures that open the breaker
    breaker_reset_s: float = Field(default=30.0, gt=0)  # open -> half-open after this long
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=1024, gt=0)

    def chain(self) -> list[ModelEndpoint]:
        """The ordered list of endpoints to try: `models` if given, else model + fallbacks."""
        if self.models:
            return list(self.models)
        if not self.model:
            return []
        first = ModelEndpoint(model=self.model, api_base=self.api_base, api_key=self.api_key)
        rest = [ModelEndpoint(model=m, api_base=self.api_base, api_key=self.api_key) for m in self.fallbacks]
        return [first, *rest]
