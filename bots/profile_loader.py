"""Load bot profiles: the built-in ones in bots/profiles/, plus an operator's folder if configured."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from core.errors import ConfigError
from core.profile import BotProfile

BUILTIN_DIR = Path(__file__).parent / "profiles"


def load_profiles(extra_dir: Path | None = None) -> dict[str, BotProfile]:
    profiles: dict[str, BotProfile] = {}
    dirs = [BUILTIN_DIR] + ([extra_dir] if extra_dir else [])
    for folder in dirs:
        if not folder.is_dir():
            raise ConfigError(f"DESKMATE_PROFILES_DIR: not a folder: {folder}")
        for path in sorted(folder.glob("*.y*ml")):
            try:
                profile = BotProfile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
            except (ValidationError, yaml.YAMLError) as exc:
                raise ConfigError(f"bot profile {path}: {exc}") from None
            profiles[profile.name] = profile  # a later folder overrides a built-in profile
    return profiles
