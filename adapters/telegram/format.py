"""Text for Telegram: markdown -> safe HTML, plain-text fallback, and splitting at 4096 visible characters.

The model writes markdown; Telegram parses HTML. Everything that is not a complete markdown construct is
escaped, and every tag we emit is balanced, so a partial (still streaming) answer is valid HTML too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from core.models import Citation, numbered
from core.reply.markdown import tables_as_code

MAX_CHARS = 4096  # Telegram's limit per message, counted after entities parsing (visible characters)
MAX_PLAIN_PARTS = 5  # messages a note or an agent's reply may take before the rest is cut
SPLIT_AT = 4000  # where we cut: leaves room for UTF-16 surrogate pairs (emoji count twice) and the sources

_FENCE = re.compile(r"```([\w+-]*)\n?(.*?)```", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\[\]\n]+)\]\((https?://[^\s()]+)\)")
_BOLD = re.compile(r"\*\*([^*<>\n](?:[^*<>\n]*[^*<>\s])?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*([^*<>\s](?:[^*<>\n]*[^*<>\s])?)\*(?![\w*])")
_SLACK_BOLD = re.compile(r"(?<![\w*])\*([^*<>\s](?:[^*<>\n]*[^*<>\s])?)\*(?![\w*])")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.M)
_HOLE = "\x00{}\x00"
_HOLE_RE = re.compile("\x00(\\d+)\x00")


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def to_html(text: str, flavor: str = "markdown") -> str:
    """Markdown (or Slack-style `*bold*` for flavor="mrkdwn") -> Telegram HTML; unknown markup stays literal."""
    text = tables_as_code(text.replace("\x00", ""), final=True)  # pipe tables as aligned <pre> blocks
    holes: list[str] = []

    def hole(rendered: str) -> str:
        holes.append(rendered)
        return _HOLE.format(len(holes) - 1)

    text = _FENCE.sub(lambda m: hole(_pre(m.group(1), m.group(2))), text)
    text = _INLINE_CODE.sub(lambda m: hole(f"<code>{escape(m.group(1))}</code>"), text)
    text = _LINK.sub(lambda m: hole(f'<a href="{html.escape(m.group(2))}">{escape(m.group(1))}</a>'), text)
    out = escape(text)
    if flavor == "mrkdwn":
        out = _SLACK_BOLD.sub(r"<b>\1</b>", out)
    else:
        out = _HEADING.sub(r"<b>\1</b>", out)
        out = _BOLD.sub(r"<b>\1</b>", out)
        out = _ITALIC.sub(r"<i>\1</i>", out)
    return _HOLE_RE.sub(lambda m: holes[int(m.group(1))], out)


def _pre(lang: str, body: str) -> str:
    code = escape(body.rstrip("\n"))
    if lang:
        return f'<pre><code class="language-{escape(lang)}">{code}</code></pre>'
    return f"<pre>{code}</pre>"


def split_first(text: str, limit: int = SPLIT_AT) -> tuple[str, str]:
    """Cut `text` (longer than `limit`) into a head of at most `limit` chars and the rest.

    The cut is at the last paragraph break, else the last sentence end or line break, else the last
    space in the window; a hard cut only when there is none. Depends only on the first `limit + 1`
    characters, so a growing (streamed) text is cut at the same place every time.
    """
    window = text[: limit + 1]
    cut = window.rfind("\n\n", 0, limit)
    if cut < limit // 2:
        ends = [window.rfind(p, 0, limit) for p in (". ", "! ", "? ", ".\n", "!\n", "?\n", "\n")]
        best = max(ends)
        cut = best + 1 if best >= limit // 3 else -1
    if cut < limit // 3:
        cut = window.rfind(" ", 0, limit)
    if cut <= 0:
        cut = limit
    head, rest = text[:cut].rstrip(), text[cut:].lstrip()
    if not head:  # whitespace-only head: cut hard instead of looping
        head, rest = text[:limit], text[limit:]
    return head, rest


def capped_parts(text: str, max_parts: int = MAX_PLAIN_PARTS) -> list[str]:
    """Plain text (a note, an agent's reply) in at most `max_parts` messages, cut like `split_text`; whatever does
    not fit the last one is cut at Telegram's limit."""
    rest, parts = text.strip(), []
    while len(rest) > SPLIT_AT and len(parts) < max_parts - 1:
        head, rest = split_first(rest)
        parts.append(head)
    parts.append(rest[:MAX_CHARS])
    return parts


def split_text(text: str, limit: int = SPLIT_AT) -> list[str]:
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        head, rest = split_first(rest, limit)
        parts.append(head)
    if rest or not parts:
        parts.append(rest)
    return parts


def citations_footer(citations: Sequence[Citation], heading: str = "Sources") -> tuple[str, str]:
    """(html, plain) lines listing the sources, links where a URL is known; ("", "") when there are none."""
    listed = numbered(citations)
    html_lines, plain_lines = [f"<b>{escape(heading)}:</b>"], [f"{heading}:"]
    for n, c in listed:
        label = " — ".join(p for p in (c.title, c.section) if p) or c.source_id
        if c.url.startswith(("http://", "https://")):
            html_lines.append(f'{n}. <a href="{html.escape(c.url)}">{escape(label)}</a>')
            plain_lines.append(f"{n}. {label} ({c.url})")
        else:
            html_lines.append(f"{n}. {escape(label)}")
            plain_lines.append(f"{n}. {label}")
    if not listed:
        return "", ""
    return "\n".join(html_lines), "\n".join(plain_lines)


def visible_length(rendered_html: str) -> int:
    """Characters the user sees for an HTML text (tags dropped, entities decoded)."""
    return len(html.unescape(re.sub(r"<[^>]+>", "", rendered_html)))
