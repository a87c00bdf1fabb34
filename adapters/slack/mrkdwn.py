"""Markdown from the model -> Slack mrkdwn (for chat.postMessage / chat.update and section blocks).

The streaming API (`chat.startStream`/`appendStream`/`stopStream`, field `markdown_text`) takes standard
Markdown and needs no conversion; every other message text is mrkdwn, which differs: `*bold*`, `_italic_`,
`~strike~`, `<url|label>` links, no headings, and `&`, `<`, `>` must be escaped.
"""

from __future__ import annotations

import re

from core.reply.markdown import tables_as_code

FENCE = re.compile(r"```[^\n`]*\n?(.*?)```", re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[([^\]\n]+)\]\((\S+?)(?:\s+\"[^\"]*\")?\)")
AUTOLINK = re.compile(r"<(https?://[^>\s]+|mailto:[^>\s]+)>")
HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
ITALIC = re.compile(r"(?<![\*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\*\w])")
STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
HRULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$", re.MULTILINE)
SLOT = re.compile(r"\x00(\d+)\x00")
BOLD_MARK = "\x01"


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str = "") -> str:
    """A mrkdwn link; `|` and `>` cannot appear inside, so they are escaped or dropped."""
    url = url.replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    label = escape(label.replace("|", "/")).strip()
    return f"<{url}|{label}>" if label else f"<{url}>"


def to_mrkdwn(markdown: str) -> str:
    """Convert Markdown to Slack mrkdwn. Code spans/blocks are kept verbatim (escaped only)."""
    slots: list[str] = []
    markdown = stream_markdown(markdown, final=True)  # pipe tables as aligned code blocks

    def keep(value: str) -> str:
        slots.append(value)
        return f"\x00{len(slots) - 1}\x00"

    text = FENCE.sub(lambda m: keep("```\n" + escape(m.group(1).rstrip("\n")) + "\n```"), markdown)
    text = INLINE_CODE.sub(lambda m: keep(escape(m.group(0))), text)
    text = LINK.sub(lambda m: keep(link(m.group(2), _plain(m.group(1)))), text)
    text = AUTOLINK.sub(lambda m: keep(link(m.group(1))), text)
    text = escape(text)
    text = HRULE.sub("──────────", text)
    text = HEADING.sub(lambda m: f"{BOLD_MARK}{_plain(m.group(1))}{BOLD_MARK}", text)
    text = BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = BOLD.sub(lambda m: f"{BOLD_MARK}{m.group(1) or m.group(2)}{BOLD_MARK}", text)
    text = ITALIC.sub(r"_\1_", text)
    text = STRIKE.sub(r"~\1~", text)
    text = text.replace(BOLD_MARK, "*")
    while SLOT.search(text):  # a kept link label may itself hold a slot (e.g. code in a label)
        text = SLOT.sub(lambda m: slots[int(m.group(1))], text)
    return text


def _plain(text: str) -> str:
    """Drop emphasis markers (used inside headings and link labels)."""
    return re.sub(r"(\*\*|__|~~|\*|`)", "", text).strip()


def stream_markdown(markdown: str, final: bool) -> str:
    """The Markdown to stream to Slack for `markdown` so far: pipe tables become aligned code blocks (Slack shows
    raw pipes otherwise); a table still arriving is held back until it is whole, so streamed text is never
    taken back (core/reply/markdown.py `tables_as_code`)."""
    return tables_as_code(markdown, final)
