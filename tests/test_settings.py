"""Settings: env + YAML, and bad values fail at start-up naming the setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bots.settings import load_settings
from core.errors import ConfigError


def test_env_settings_with_nesting_and_comma_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKMATE_LLM__MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("DESKMATE_LLM__API_KEY", "sk-very-secret")
    monkeypatch.setenv("DESKMATE_LLM__FALLBACKS", "anthropic/claude-3-5-haiku-latest, openai/gpt-4o")
    monkeypatch.setenv("DESKMATE_HTTP__PORT", "9000")
    settings = load_settings()
    assert [e.model for e in settings.llm.chain()] == [
        "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest", "openai/gpt-4o"]
    assert settings.http.port == 9000
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings.model_dump())


def test_yaml_lists_several_endpoints_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "deskmate.yaml"
    config.write_text(
        "company: Initech\n"
        "llm:\n"
        "  timeout_s: 12\n"
        "  models:\n"
        "    - {model: openai/gpt-4o-mini, api_base: 'https://eu.example/v1', api_key: k1}\n"
        "    - {model: anthropic/claude-3-5-haiku-latest, api_key: k2, timeout_s: 20}\n"
    )
    monkeypatch.setenv("DESKMATE_LLM__TIMEOUT_S", "7")
    settings = load_settings(config)
    chain = settings.llm.chain()
    assert [(e.model, e.api_base) for e in chain] == [
        ("openai/gpt-4o-mini", "https://eu.example/v1"), ("anthropic/claude-3-5-haiku-latest", None)]
    assert chain[1].api_key is not None and chain[1].api_key.get_secret_value() == "k2"
    assert settings.llm.timeout_s == 7 and settings.company == "Initech"


@pytest.mark.parametrize(("name", "value"), [
    ("DESKMATE_LLM__TIMEOUT_S", "-1"),
    ("DESKMATE_HTTP__PORT", "not-a-port"),
    ("DESKMATE_TELEGRAM__MODE", "carrier-pigeon"),
    ("DESKMATE_LOG_LEVEL", "loud"),
])
def test_bad_settings_fail_naming_the_setting(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value)


def test_unknown_setting_in_yaml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("llm:\n  modle: openai/gpt-4o\n")
    with pytest.raises(ConfigError, match="DESKMATE_LLM__MODLE"):
        load_settings(config)


def test_the_cli_reports_bad_settings_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DESKMATE_LLM__TIMEOUT_S": "zero", "DESKMATE_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bots.cli", "chat"], env=env, capture_output=True, text=True,
                          timeout=120, input="")
    assert proc.returncode == 2
    assert "DESKMATE_LLM__TIMEOUT_S" in proc.stderr and "Traceback" not in proc.stderr
