"""Versioned prompt templates: `prompts/<name>/<version>.yaml` files with Jinja2 sections.

A template has `name`, `version`, `description` and Jinja2 sections (`system` is required; others such
as `context` or `summary` are used by the stages that need them). Every reply records the name and
version it used. A/B: a profile may list variants with weights; a user sticks to one variant.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from core.errors import ConfigError
from core.profile import BotProfile

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: str
    description: str
    sections: dict[str, Template] = field(repr=False)

    def render(self, section: str, **context: Any) -> str:
        template = self.sections.get(section)
        if template is None:
            raise ConfigError(f"prompt {self.name}/{self.version} has no section {section!r}")
        return template.render(**context).strip()

    def has(self, section: str) -> bool:
        return section in self.sections


class PromptLibrary:
    def __init__(self, templates: dict[tuple[str, str], PromptTemplate]) -> None:
        self.templates = templates

    @classmethod
    def load(cls, *roots: Path) -> PromptLibrary:
        templates: dict[tuple[str, str], PromptTemplate] = {}
        for root in roots:
            for path in sorted(root.glob("*/*.yaml")):
                tpl = _parse(path)
                templates[(tpl.name, tpl.version)] = tpl
        return cls(templates)

    def get(self, name: str, version: str) -> PromptTemplate:
        try:
            return self.templates[(name, version)]
        except KeyError:
            raise ConfigError(f"no prompt template {name}/{version} (prompts/{name}/{version}.yaml)") from None

    def check_profile(self, profile: BotProfile) -> None:
        """Fail at start-up when a profile names a template that does not exist."""
        for version in [profile.prompt_version, *(v.version for v in profile.prompt_variants)]:
            self.get(profile.prompt, version)

    @staticmethod
    def select_version(profile: BotProfile, user_key: str) -> str:
        """The prompt version for this user: sticky by a hash of the user, split by variant weights."""
        if not profile.prompt_variants:
            return profile.prompt_version
        total = sum(v.weight for v in profile.prompt_variants)
        digest = hashlib.sha256(f"{profile.name}:{profile.prompt}:{user_key}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * total
        for variant in profile.prompt_variants:
            point -= variant.weight
            if point < 0:
                return variant.version
        return profile.prompt_variants[-1].version


def _parse(path: Path) -> PromptTemplate:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        name, version = str(data["name"]), str(data["version"])
        sections = {k: _ENV.from_string(v) for k, v in data.items() if k not in ("name", "version", "description")}
    except Exception as exc:
        raise ConfigError(f"bad prompt template {path}: {exc}") from None
    if path.parent.name != name or path.stem != version:
        raise ConfigError(f"prompt template {path}: name/version must match its path ({name}/{version})")
    if "system" not in sections:
        raise ConfigError(f"prompt template {path} has no `system` section")
    return PromptTemplate(name=name, version=version, description=str(data.get("description", "")), sections=sections)


def builtin_prompts_dir() -> Path:
    import prompts

    return Path(prompts.__file__).parent
