"""A bot profile: which prompt, knowledge, tools and default features a bot has.

Profiles are data (YAML files in `bots/profiles/`). Sections owned by one stage (`pii`, `cache`,
`retrieval`) stay plain mappings here and are validated by that stage's own settings model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FEATURES = ("rag", "cache", "pii", "tools", "streaming")


class PromptVariant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    version: str
    weight: float = Field(default=1.0, gt=0)


class BotProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,40}$")
    description: str = ""
    prompt: str  # template name in prompts/
    prompt_version: str
    prompt_variants: tuple[PromptVariant, ...] = ()  # A/B split; empty = prompt_version only
    collections: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    features: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(FEATURES, True))
    language: str = "en"  # default reply language
    languages: tuple[str, ...] = ("en",)  # languages PII analysis and replies support
    pii: dict[str, Any] = Field(default_factory=dict)
    cache: dict[str, Any] = Field(default_factory=dict)
    retrieval: dict[str, Any] = Field(default_factory=dict)
    handoff: dict[str, Any] = Field(default_factory=dict)  # core/handoff/settings.py HandoffOptions
