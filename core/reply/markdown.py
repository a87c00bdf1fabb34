"""Platform-neutral Markdown helpers for streamed replies: where to cut a long answer, and how to make a
partial (still streaming) answer valid Markdown.

`split_first` cuts at a paragraph break outside code, else before a code block, else at a line or sentence
end, else at a space — never inside a word unless a "word" is longer than the whole limit. A cut inside a code
block closes the fence in the head and reopens it (same language) in the rest, so both parts render as code.
It depends only on the first `limit + 1` characters, so a growing text is cut at the same place every time.

`balance` closes what a cut left open (a code fence, inline code, bold, italics, strike) and turns a link whose
URL is still arriving into its label, so every preview renders as the final text will.
"""

from __future__ import annotations

import re

_FENCE_LINE = re.compile(r"^[ \t]{0,3}(```+|~~~+)[ \t]*([\w+#.-]*)[^\n]*$", re.M)
_PARTIAL_LINK = re.compile(r"\[([^\[\]\n]*)\]\([^)\s]*$")
_PARTIAL_LABEL = re.compile(r"\[([^\[\]\n]*)$")


def open_fence(text: str) -> tuple[int, str, str] | None:
    """(offset, marker, language) of a code fence that is open at the end of `text`, or None."""
    current: tuple[int, str, str] | None = None
    for m in _FENCE_LINE.finditer(text):
        marker, lang = m.group(1), m.group(2)
        if current is None:
            current = (m.start(), marker, lang)
        elif marker.startswith(current[1][0] * len(current[1])) and not lang:
            current = None
    return current


def _outside_code(text: str, pos: int) -> bool:
    return open_fence(text[:pos]) is None


def cut_point(text: str, limit: int) -> int:
    """Where to cut `text` (longer than `limit`) so the head has at most `limit` characters."""
    window = text[: limit + 1]
    floor = limit // 3
    para = window.rfind("\n\n", 0, limit)
    while para >= floor and not _outside_code(window, para):
        para = window.rfind("\n\n", 0, para)
    if para >= limit // 2:
        return para + 2
    fence = open_fence(window[:limit])
    if fence is not None and fence[0] >= floor:
        return fence[0]  # the code block starts the next part
    ends = [window.rfind(p, 0, limit) for p in (".\n", "!\n", "?\n", "\n", ". ", "! ", "? ")]
    best = max(ends)
    if best >= floor:
        return best + 1
    if para >= floor:
        return para + 2
    space = max(window.rfind(" ", 0, limit), window.rfind("\n", 0, limit), window.rfind("\t", 0, limit))
    if space > 0:
        return space + 1
    return limit  # one "word" longer than the limit: nothing better exists


def split_at(text: str, limit: int) -> tuple[str, int, str]:
    """(head, consumed, reopen): the head to send (at most `limit` characters), how many characters of `text`
    it used up, and what the rest must start with (a reopened code fence, or "")."""
    if len(text) <= limit:
        return text, len(text), ""
    fence_room = 8  # room for the "\n```" that closes a fence cut in two
    cut = cut_point(text, limit)
    fence = open_fence(text[:cut])
    if fence is not None and cut + fence_room > limit:
        cut = cut_point(text, limit - fence_room)
        fence = open_fence(text[:cut])
    if fence is None:
        return text[:cut], cut, ""
    _, marker, lang = fence
    consumed = cut
    while consumed < len(text) and text[consumed] == "\n":
        consumed += 1
    return text[:cut].rstrip("\n") + "\n" + marker, consumed, f"{marker}{lang}\n"


def split_first(text: str, limit: int) -> tuple[str, str]:
    """Cut `text` into a head of at most `limit` characters and the rest; a code block cut in two stays code."""
    head, consumed, reopen = split_at(text, limit)
    return head, reopen + text[consumed:]


def split_all(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    while len(text) > limit:
        head, text = split_first(text, limit)
        parts.append(head)
    parts.append(text)
    return parts


def balance(text: str) -> str:
    """A partial Markdown text made valid: open code closed, open emphasis closed, a half-sent link shown as
    its label. Complete Markdown comes back unchanged."""
    fence = open_fence(text)
    if fence is not None:
        return text.rstrip("\n") + "\n" + fence[1]
    prefix, last = _last_paragraph(text)
    link = _PARTIAL_LINK.search(last)
    if link is not None:
        last = last[: link.start()] + link.group(1)
    else:
        label = _PARTIAL_LABEL.search(last)
        if label is not None:
            last = last[: label.start()] + "[" + label.group(1)  # kept literal: it may be "[1" of a citation
    closers, dangling = _open_inline(last)
    if dangling:  # an opener with nothing after it yet ("**"): not shown until its text arrives
        last = last.rstrip()[: -len(dangling)].rstrip()
    if closers:
        last = last.rstrip() + closers
    return prefix + last


def _last_paragraph(text: str) -> tuple[str, str]:
    cut = text.rfind("\n\n")
    return (text[: cut + 2], text[cut + 2:]) if cut >= 0 else ("", text)


def _open_inline(text: str) -> tuple[str, str]:
    """(closers for inline markers left open at the end of `text`, a dangling opener to drop)."""
    tail = text.rstrip()
    if text.count("`") % 2:
        return ("", "`") if tail.endswith("`") else ("`", "")
    plain = re.sub(r"`[^`]*`", "", text)
    closers = ""
    for marker in ("**", "~~"):
        if plain.count(marker) % 2:
            if tail.endswith(marker):
                return "", marker
            closers = marker + closers
    single = re.sub(r"\*\*", "", plain)
    opens = len(re.findall(r"(?<![\w*])\*(?=\S)", single))
    shuts = len(re.findall(r"(?<=\S)\*(?![\w*])", single))
    if opens > shuts:
        closers = "*" + closers
    elif re.search(r"(?<![\w*])\*$", tail) and not tail.endswith("**"):
        return closers, "*"
    return closers, ""


# ------------------------------------------------------------------------------------------- tables

_ROW = re.compile(r"^[ \t]*\|.*$")
_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
_FENCE_OPEN = re.compile(r"^[ \t]{0,3}(```|~~~)")


def tables_as_code(markdown: str, final: bool) -> str:
    """Pipe tables as aligned code blocks (readable where a platform has no tables: Slack, Telegram). With
    `final=False` a table still arriving is held back until it is whole, so each result extends the previous one
    and streamed text never has to be taken back."""
    lines = markdown.split("\n")
    out: list[str] = []
    i, in_code = 0, False
    while i < len(lines):
        line = lines[i]
        if _FENCE_OPEN.match(line):
            in_code = not in_code
        if in_code or not _ROW.match(line):
            out.append(line)
            i += 1
            continue
        j = i
        while j < len(lines) and _ROW.match(lines[j]):
            j += 1
        if not final and (j == len(lines) or (j == len(lines) - 1 and lines[j] == "")):
            return "\n".join(out) + ("\n" if out else "")  # the table (or a row) is still arriving
        run = lines[i:j]
        out.extend(_table(run) if len(run) >= 2 and _RULE.match(run[1]) else run)
        i = j
    return "\n".join(out)


def _table(rows: list[str]) -> list[str]:
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for k, r in enumerate(rows) if k != 1]
    width = max(len(r) for r in cells)
    cells = [r + [""] * (width - len(r)) for r in cells]
    sizes = [max(len(r[c]) for r in cells) for c in range(width)]
    fmt = ["  ".join(v.ljust(sizes[c]) for c, v in enumerate(r)).rstrip() for r in cells]
    rule = "  ".join("-" * s for s in sizes)
    return ["```", fmt[0], rule, *fmt[1:], "```"]
