"""The core stays platform-neutral: no module under core/ imports a chat platform SDK."""

from __future__ import annotations

import ast
from pathlib import Path

PLATFORM_SDKS = {"slack_bolt", "slack_sdk", "aiogram", "telegram", "discord"}
ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_platform_sdk_and_nothing_outward() -> None:
    offenders = {}
    for path in (ROOT / "core").rglob("*.py"):
        bad = _imports(path) & (PLATFORM_SDKS | {"adapters", "bots"})
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"core must not import platform SDKs, adapters or bots: {offenders}"


def test_the_check_itself_sees_imports() -> None:
    sample = ROOT / "adapters" / "slack"
    found = set().union(*(_imports(p) for p in sample.rglob("*.py"))) if sample.exists() else set()
    assert not found or "core" in found or "slack_bolt" in found or "slack_sdk" in found
