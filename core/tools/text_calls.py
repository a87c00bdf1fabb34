"""Tool calls a model wrote as text, caught before the user sees them.

Small models (and many local servers) answer "open a ticket" with `{"name": "create_ticket", "arguments": {...}}`
as plain text, in a ```json fence, or in <tool_call> tags, instead of a real tool call. `TextCallFilter` sits
between the model's stream and the user: it passes ordinary text through at once, holds back anything that starts
like JSON, a code fence or a tool-call tag until it is clear what it is, and then either releases it (ordinary
text or code) or takes it out. A call naming a tool of this turn becomes a `ToolCallRequest` (the runner then asks
the user to confirm, as for a native call); a call naming anything else is dropped. Either way it is never shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from core.llm.types import ToolCallRequest

FENCE = "```"
TAG_OPEN, TAG_CLOSE = "<tool_call>", "</tool_call>"
MAX_HOLD = 6000  # characters held back at most, unless they name a tool
NAME_KEYS = ("name", "tool", "tool_name", "function", "function_name", "action")
ARG_KEYS = ("arguments", "parameters", "args", "input", "params", "action_input")
NAMED = re.compile(r'"(?:name|tool|tool_name|function|function_name|action)"\s*:\s*"([A-Za-z_][\w.\-]{0,63})"')


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _first_object(text: str) -> Any:
    """The first balanced JSON object or array in `text`, parsed (None if there is none)."""
    for start, ch in enumerate(text):
        if ch in "{[":
            end = _balanced_end(text, start)
            return _loads(text[start:end]) if end else None
    return None


def _balanced_end(text: str, start: int) -> int | None:
    """The index just past the bracket that closes text[start], or None when it is not closed."""
    depth, in_string, escape = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def _one_call(value: Any, names: Collection[str]) -> tuple[str, Any] | None:
    """(name, arguments) when `value` is shaped like one tool call, else None."""
    if not isinstance(value, dict):
        return None
    function = value.get("function")
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return function["name"], function.get("arguments", function.get("parameters", {}))
    args = next((value[k] for k in ARG_KEYS if k in value), None)
    for key in NAME_KEYS:
        name = value.get(key)
        if isinstance(name, str) and (name in names or isinstance(args, dict | str)):
            return name, args if args is not None else {}
    if len(value) == 1:
        (name, args), = value.items()
        if name in names and isinstance(args, dict):
            return name, args
    return None


def parse_calls(value: Any, names: Collection[str]) -> list[tuple[str, Any]] | None:
    """Every call in a parsed JSON value ({"tool_calls": [...]}, a list, or one call); None if it is not calls."""
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    items = value if isinstance(value, list) else [value]
    calls = [_one_call(item, names) for item in items]
    if not calls or any(c is None for c in calls):
        return None
    return [c for c in calls if c is not None]


def _arguments_json(args: Any) -> str:
    if isinstance(args, str):
        return args
    return json.dumps(args if args is not None else {}, ensure_ascii=False)


class TextCallFilter:
    """Feed it the model's text as it streams; it returns what may be shown now and collects the calls."""

    def __init__(self, tool_names: Collection[str]) -> None:
        self.names = set(tool_names)
        self.calls: list[ToolCallRequest] = []
        self.dropped: list[str] = []  # names of calls taken out that no tool of this turn answers to
        self._buf = ""  # text received but not yet released or taken out

    @property
    def found(self) -> int:
        """How many call-like pieces were taken out of the text (parsed or dropped)."""
        return len(self.calls) + len(self.dropped)

    def feed(self, text: str) -> str:
        self._buf += text
        return self._drain(final=False)

    def finish(self) -> str:
        return self._drain(final=True)

    # -- scanning

    def _drain(self, final: bool) -> str:
        shown: list[str] = []
        while self._buf:
            start = self._candidate(self._buf)
            if start is None:  # nothing suspicious: all of it, but a tail that may begin a fence or a tag
                keep = 0 if final else self._partial_marker(self._buf)
                shown.append(self._buf[:len(self._buf) - keep])
                self._buf = self._buf[len(self._buf) - keep:]
                break
            shown.append(self._buf[:start])
            self._buf = self._buf[start:]
            if self._plain_bracket(self._buf):  # "[1]", "[link](url)": not the start of a JSON list of calls
                shown.append(self._buf[0])
                self._buf = self._buf[1:]
                continue
            end = self._segment_end(self._buf)
            closed = end is not None
            if end is None:
                if not final and not self._overlong(self._buf):
                    break  # wait for more text
                end = len(self._buf)
            segment, self._buf = self._buf[:end], self._buf[end:]
            if self._take(segment, closed):
                continue
            if closed:  # a whole fence, tag or object that is not a call: ordinary text or code
                shown.append(segment)
            else:  # an opening that never closed: release its first character and scan on from the next
                shown.append(segment[0])
                self._buf = segment[1:] + self._buf
        return "".join(shown)

    @staticmethod
    def _plain_bracket(text: str) -> bool:
        rest = text[1:].lstrip()
        return text.startswith("[") and bool(rest) and not rest.startswith("{")

    @staticmethod
    def _candidate(text: str) -> int | None:
        found = [i for i in (text.find("{"), text.find("["), text.find(FENCE), text.find(TAG_OPEN)) if i >= 0]
        return min(found) if found else None

    @staticmethod
    def _partial_marker(text: str) -> int:
        """Length of a tail that could be the start of ``` or <tool_call>."""
        for marker in (FENCE, TAG_OPEN):
            for n in range(min(len(marker) - 1, len(text)), 0, -1):
                if text.endswith(marker[:n]):
                    return n
        return 0

    @staticmethod
    def _segment_end(text: str) -> int | None:
        if text.startswith(FENCE):
            close = text.find(FENCE, len(FENCE))
            return close + len(FENCE) if close >= 0 else None
        if text.startswith(TAG_OPEN):
            close = text.find(TAG_CLOSE)
            return close + len(TAG_CLOSE) if close >= 0 else None
        return _balanced_end(text, 0)

    def _overlong(self, held: str) -> bool:
        named = NAMED.search(held[:400])
        return len(held) > MAX_HOLD and not (named and named.group(1) in self.names)

    def _take(self, segment: str, closed: bool) -> bool:
        """Take `segment` out when it is a tool call (or the truncated start of one); False to release it."""
        body = segment
        if segment.startswith(FENCE):
            body = segment[len(FENCE):]
            body = body[:-len(FENCE)] if body.endswith(FENCE) else body
            first, _, rest = body.partition("\n")
            body = rest if first.strip() and not first.strip().startswith(("{", "[")) else body
        elif segment.startswith(TAG_OPEN):
            body = segment[len(TAG_OPEN):].removesuffix(TAG_CLOSE)
        stripped = body.strip()
        value = _loads(stripped)
        if value is None and not segment.startswith(("{", "[")):
            value = _first_object(stripped)
        calls = parse_calls(value, self.names) if value is not None else None
        if calls is None:
            named = NAMED.search(stripped[:400])
            if segment.startswith(TAG_OPEN) or (named and (not closed or named.group(1) in self.names)
                                                and stripped.startswith(("{", "["))):
                self.dropped.append(named.group(1) if named else "?")  # a call we cannot read: never shown
                return True
            return False
        for name, args in calls:
            if name in self.names:
                self.calls.append(ToolCallRequest(call_id=f"text_call_{len(self.calls) + 1}", name=name,
                                                  arguments_json=_arguments_json(args)))
            else:
                self.dropped.append(name)
        return True
