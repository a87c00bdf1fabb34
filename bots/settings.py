"""The one settings model: env variables (DESKMATE_, `__` for nesting) over an optional YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

from adapters.slack.settings import SlackSettings
from adapters.telegram.settings import TelegramSettings
from core.audience import AccessSettings
from core.cache.settings import CacheSettings
from core.edits.settings import EditSettings
from core.errors import ConfigError
from core.handoff.settings import HandoffSettings
from core.knowledge.settings import ChromaSettings, EmbeddingsSettings
from core.llm.settings import LLMSettings
from core.memory.settings import MemorySettings
from core.ops.settings import FeedbackSettings, LimitsSettings, OtelSettings, QueueSettings
from core.pii.settings import PiiSettings
from core.tools.settings import ToolsSettings

ENV_PREFIX = "DESKMATE_"


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True,
    )

    data_dir: Path = Path("./var")
    company: str = "Acme Corp"  # the company name the prompts use
    redis_url: str | None = None  # unset = embedded redis-server under data_dir
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"  # auto: JSON unless stderr is a TTY
    profiles_dir: Path | None = None  # extra bot profiles (YAML) besides the built-in ones
    http: HttpSettings = HttpSettings()
    llm: LLMSettings = LLMSettings()
    memory: MemorySettings = MemorySettings()
    embeddings: EmbeddingsSettings = EmbeddingsSettings()
    chroma: ChromaSettings = ChromaSettings()
    pii: PiiSettings = PiiSettings()
    cache: CacheSettings = CacheSettings()
    tools: ToolsSettings = ToolsSettings()
    limits: LimitsSettings = LimitsSettings()
    otel: OtelSettings = OtelSettings()
    queue: QueueSettings = QueueSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    access: AccessSettings = AccessSettings()
    handoff: HandoffSettings = HandoffSettings()
    edits: EditSettings = EditSettings()  # edited and deleted questions (core/edits)
    slack: SlackSettings = SlackSettings()
    telegram: TelegramSettings = TelegramSettings()

    _yaml_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_unknown_settings(cls, data: Any) -> Any:
        """A misspelt nested setting (YAML or DESKMATE_X__Y) is an error, not silently ignored."""
        if isinstance(data, dict):
            unknown = _unknown_keys(cls, data, ())
            if unknown:
                raise ValueError("unknown setting(s): " + ", ".join(_setting_name(loc) for loc in unknown))
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._yaml_file is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=cls._yaml_file))
        return tuple(sources)


def _unknown_keys(model: type[BaseModel], data: dict[str, Any], prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    unknown: list[tuple[str, ...]] = []
    for name, value in data.items():
        field = model.model_fields.get(name)
        if field is None:
            unknown.append((*prefix, name))
            continue
        sub = field.annotation
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            unknown.extend(_unknown_keys(sub, value, (*prefix, name)))
        elif isinstance(value, list) and name == "models":
            from core.llm.settings import ModelEndpoint

            for item in value:
                if isinstance(item, dict):
                    unknown.extend(_unknown_keys(ModelEndpoint, item, (*prefix, name)))
    return unknown


def _setting_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ENV_PREFIX + "__".join(p.upper() for p in parts)


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from env (+ YAML). Any problem raises ConfigError naming the setting(s)."""
    if config is not None and not config.is_file():
        raise ConfigError(f"--config: no such file: {config}")
    Settings._yaml_file = config
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [f"{_setting_name(err['loc'])}: {err['msg']}" if err["loc"] else err["msg"] for err in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None
    except ValueError as exc:  # e.g. a JSON-looking env value that does not parse
        raise ConfigError(f"invalid settings: {exc}") from None
    finally:
        Settings._yaml_file = None
