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


def test_the_check_itself_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import slack_sdk.web\nfrom aiogram import Bot\nfrom . import sibling\n", encoding="utf-8")
    assert _imports(sample) == {"slack_sdk", "aiogram"}  # relative imports are the package's own
    assert {"slack_bolt", "core"} <= set().union(*(_imports(p) for p in (ROOT / "adapters" / "slack").rglob("*.py")))


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _load_time_imports(path: Path, known: set[str]) -> set[str]:
    """Our modules imported when `path` is imported: module level only (not inside functions, not under
    `if TYPE_CHECKING:`), resolved to the longest known module name."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                 ast.ClassDef)) else ():
            names: list[str] = []
            if isinstance(sub, ast.Import):
                names = [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                names = [sub.module, *(f"{sub.module}.{a.name}" for a in sub.names)]
            for name in names:
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name:
                    found.add(name)
    return found


def test_no_import_cycles_between_our_modules() -> None:
    paths = [p for pkg in ("core", "adapters", "bots") for p in (ROOT / pkg).rglob("*.py")]
    known = {_module(p) for p in paths}
    graph = {_module(p): _load_time_imports(p, known) - {_module(p)} for p in paths}
    for name in list(graph):  # a package's __init__ is not a dependency of its own modules
        graph[name] = {d for d in graph[name] if not name.startswith(d + ".")}
    cycles, state = [], dict.fromkeys(graph, 0)

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep):], dep] if dep in trail else [node, dep])
            elif state.get(dep) == 0:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in sorted(graph):
        if state[name] == 0:
            visit(name, [name])
    assert not cycles, f"import cycles: {cycles}"


MAX_LINES = 400


def test_every_module_stays_under_400_lines_and_test_helpers_live_in_one_package() -> None:
    long = {str(p.relative_to(ROOT)): n for pkg in ("core", "adapters", "bots") for p in (ROOT / pkg).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
    stray = [p.name for p in (ROOT / "tests").glob("*.py")
             if p.name not in ("__init__.py", "conftest.py") and not p.name.startswith("test_")]
    assert not stray, f"test helpers belong in tests/support/: {stray}"


STAGES = ("limits", "record", "input", "features", "pii", "handoff", "actions", "memory", "cache", "retrieval", "generate")


async def test_the_running_engine_has_the_documented_stage_order(tmp_path: Path) -> None:
    from tests.support.runtime import running

    async with running(tmp_path) as runtime:
        assert runtime.engine.stage_names == STAGES
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert " -> ".join(STAGES) in architecture, "docs/architecture.md shows the same stage list"
