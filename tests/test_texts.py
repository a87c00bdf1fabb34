"""Every user-facing text lives in core/texts/, in English and Russian, and nothing shown to a user is
hard-coded elsewhere in core/ or adapters/ (admin replies, limits, Slack and Telegram texts)."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

from core.texts import TEXTS, render, text

ROOT = Path(__file__).resolve().parents[1]
# Calls whose arguments reach a user's screen, and the keywords that carry the shown text.
SINKS = {"AdminReply", "Error", "Status", "Final", "NeedsConfirmation", "BotCommand", "chat_postMessage",
         "chat_update", "chat_postEphemeral", "respond", "say", "answer", "send_message", "edit_message_text",
         "_ephemeral", "_status", "button", "InlineKeyboardButton", "write"}
SHOWN_KEYWORDS = {"text", "message", "description", "status", "summary", "title", "caption"}
BLOCK_TEXT_KEYS = {"text", "accessibility_label", "placeholder", "title"}
STRING_BUILDERS = {"join", "format", "str", "strip", "lstrip", "rstrip"}
NAMES = {"deskmate"}  # the product's name is the same in every language
_WORDS = re.compile(r"[A-Za-zА-Яа-яЁё]*[a-zа-яё][A-Za-zА-Яа-яЁё]+")


def _shown_words(value: str) -> list[str]:
    """Natural-language words in a literal, ignoring placeholders, `code`, <@mentions>, %-formats."""
    value = re.sub(r"\{[^}]*\}|`[^`]*`|<[^>]*>|%[a-zA-Z]", " ", value)
    return [w for w in _WORDS.findall(value) if w.lower() not in NAMES]


class _Module:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.functions = {n.name: n for n in ast.walk(self.tree) if isinstance(n, (ast.FunctionDef,
                                                                                   ast.AsyncFunctionDef))}
        self.parents = {child: parent for parent in ast.walk(self.tree) for child in ast.iter_child_nodes(parent)}

    def enclosing(self, node: ast.AST) -> ast.AST | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def literals(self, node: ast.AST | None, seen: set[int]) -> Iterator[ast.Constant]:
        """String constants that end up in the shown text built by `node` (through f-strings, +, joins,
        local variables and helper functions of this module); arguments of other calls (text keys) are not."""
        if node is None or id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node
        elif isinstance(node, ast.JoinedStr):
            for part in node.values:
                yield from self.literals(part.value if isinstance(part, ast.FormattedValue) else part, seen)
        elif isinstance(node, ast.BinOp):
            yield from self.literals(node.left, seen)
            yield from self.literals(node.right, seen)
        elif isinstance(node, ast.IfExp):
            yield from self.literals(node.body, seen)
            yield from self.literals(node.orelse, seen)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                yield from self.literals(v, seen)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for v in node.elts:
                yield from self.literals(v, seen)
        elif isinstance(node, (ast.Starred, ast.Subscript)):
            yield from self.literals(node.value, seen)
        elif isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            yield from self.literals(node.elt, seen)
        elif isinstance(node, ast.Name):
            func = self.enclosing(node)
            for n in ast.walk(func) if func else ():
                if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == node.id for t in n.targets):
                    yield from self.literals(n.value, seen)
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                        isinstance(n.func.value, ast.Name) and n.func.value.id == node.id and \
                        n.func.attr in ("append", "extend", "insert"):
                    for a in n.args:
                        yield from self.literals(a, seen)
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in STRING_BUILDERS:
                yield from self.literals(getattr(node.func, "value", None), seen)
                for a in node.args:
                    yield from self.literals(a, seen)
            elif name in self.functions:  # a helper of this module that builds the text
                for n in ast.walk(self.functions[name]):
                    if isinstance(n, ast.Return):
                        yield from self.literals(n.value, seen)

    def violations(self) -> Iterator[str]:
        for node in ast.walk(self.tree):
            shown: list[ast.AST] = []
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in SINKS:
                    shown = [*node.args, *(k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS)]
            elif isinstance(node, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
                if "type" in keys or "accessibility_label" in keys:
                    shown = [v for k, v in zip(keys, node.values, strict=True) if k in BLOCK_TEXT_KEYS]
            for arg in shown:
                for lit in self.literals(arg, set()):
                    words = _shown_words(lit.value)
                    if words:
                        yield f"{self.path.relative_to(ROOT)}:{lit.lineno}: {lit.value!r}"


def _hard_coded() -> list[str]:
    found: list[str] = []
    for folder in ("core", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if ROOT / "core" / "texts" not in path.parents:
                found.extend(_Module(path).violations())
    return found


def test_every_text_exists_in_english_and_russian_with_the_same_placeholders() -> None:
    assert set(TEXTS) >= {"en", "ru"}
    assert set(TEXTS["en"]) == set(TEXTS["ru"]), set(TEXTS["en"]) ^ set(TEXTS["ru"])
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, english in TEXTS["en"].items():
        russian = TEXTS["ru"][key]
        assert english.strip() and russian.strip(), key
        assert fields(english) == fields(russian), key
        if _shown_words(english):  # a real sentence, not only placeholders and emoji: it must be translated
            assert re.search(r"[А-Яа-яЁё]", russian), f"{key} is not translated: {russian!r}"


def test_nothing_user_facing_is_hard_coded_outside_texts() -> None:
    found = _hard_coded()
    assert not found, "user-facing strings outside core/texts/:\n" + "\n".join(found)


def test_the_checker_catches_a_hard_coded_reply(tmp_path: Path) -> None:
    """The scan above must not pass by seeing nothing: a module with typical hard-coded replies is caught."""
    bad = ROOT / "core" / "_texts_probe_tmp.py"
    bad.write_text(
        "def _help(p):\n    return '\\n'.join(['*Deskmate commands*', f'`{p}features` — show them'])\n\n"
        "def handle(ctx):\n    lines = ['*Limits here*']\n    lines.append('No statistics yet.')\n"
        "    done = f\"Confirmed by <@{ctx.user}>.\"\n    client.chat_update(text=done)\n"
        "    AdminReply('\\n'.join(lines))\n    return AdminReply(_help(ctx.p), ok=False)\n"
        "BLOCK = {'type': 'button', 'text': {'type': 'plain_text', 'text': 'Confirm'}}\n"
    )
    try:
        found = "\n".join(_Module(bad).violations())
    finally:
        bad.unlink()
    for phrase in ("Deskmate commands", "show them", "Limits here", "No statistics", "Confirmed by", "'Confirm'"):
        assert phrase in found, phrase


def test_texts_and_rendered_values_follow_the_language() -> None:
    assert text("admin_stats_title", "ru-RU") == TEXTS["ru"]["admin_stats_title"]
    assert text("admin_stats_title", "de") == TEXTS["en"]["admin_stats_title"]  # no German: English
    value = ("limits_rate_value", {"user": "limits_none", "tenant": 5})
    assert render(value, "en") == "no limit per user, 5 per workspace"
    assert render(value, "ru") == "без лимита на пользователя, 5 на пространство"
