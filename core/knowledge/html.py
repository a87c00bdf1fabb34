"""HTML to structured blocks: the page's main content only, with its headings as the section path.

Which text is content is decided by trafilatura, a maintained main-content extractor (it drops menus,
navigation bars, "Prev / Up / Home / Next" links, breadcrumbs, footers and link lists). Its output keeps
the content but not always the page's structure (the headings of generated documentation often go), so
the page is then read in document order and a block is kept only when trafilatura kept its text:
headings set the section path of the kept blocks after them, <pre> stays verbatim (kind "code"), table
rows become records (kind "row"), a definition list's term and description stay together. A page
trafilatura finds no content in falls back to its body without <nav>/<header>/<footer>/<aside>.
"""

from __future__ import annotations

import re
from typing import Any

from core.knowledge.loaders import Block, Document

_SPACE = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
PROBE_CHARS = 60  # a block is kept when the first this many letters/digits of it are in the extracted text
MIN_PROBE = 8  # blocks with fewer letters/digits than this ("Prev", "Up") count as content only inside code
_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "tr", "dl", "blockquote"]
_CONTAINERS = ["li", "pre", "dl", "blockquote", "p", "table"]


def _squash(text: str) -> str:
    return _NOT_ALNUM.sub("", text).lower()


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def main_text(data: bytes) -> str | None:
    """The main content's text as trafilatura extracts it (None when it finds none)."""
    import trafilatura  # lazy: ~0.3 s import

    return trafilatura.extract(data, output_format="txt", include_tables=True, include_comments=False,
                               include_links=False, include_images=False, favor_recall=True, deduplicate=False)


def html_document(data: bytes, stem: str) -> Document:
    from bs4 import BeautifulSoup  # lazy

    extracted = main_text(data)
    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    if not extracted:
        for tag in soup(["nav", "header", "footer", "aside", "form"]):
            tag.decompose()
    kept = _squash(extracted) if extracted else None
    title = _clean(soup.title.get_text(" ")) if soup.title else ""
    reader = _Reader(title, kept)
    body = soup.body or soup
    for el in body.find_all(_BLOCKS):
        if el.find_parent(_CONTAINERS) is not None and el.name not in {"tr"}:
            continue  # inside a block already read whole
        if el.name == "tr" and el.find_parent(["pre", "li", "blockquote"]) is not None:
            continue
        reader.element(el)
    return Document(reader.title or stem, reader.blocks)


NAV_WORDS = 12  # a block this short made (almost) only of links is navigation ("Prev | Up | Home | Next")


def _navigation(el: Any) -> bool:
    text = _squash(el.get_text(" "))
    if not text or len(el.get_text(" ").split()) > NAV_WORDS:
        return False
    linked = sum(len(_squash(a.get_text(" "))) for a in el.find_all("a"))
    return linked / len(text) >= 0.9


ADMONITIONS = {"note", "tip", "warning", "caution", "important", "admonition", "callout"}


def _in_admonition(el: Any) -> bool:
    """Inside a note/tip/warning box (the class names DocBook, Sphinx and most generators use)."""
    for parent in el.parents:
        classes = parent.get("class") or [] if hasattr(parent, "get") else []
        if ADMONITIONS & {c.lower() for c in classes}:
            return True
    return False


class _Reader:
    def __init__(self, title: str, kept: str | None) -> None:
        self.title = title
        self.kept = kept
        self.path: list[str] = []
        self.levels: list[int] = []
        self.blocks: list[Block] = []
        self._header: list[str] | None = None

    def content(self, text: str, code: bool = False) -> bool:
        if self.kept is None:
            return True
        probe = _squash(text)
        if len(probe) < MIN_PROBE and not code:
            return False
        return probe[:PROBE_CHARS] in self.kept

    def add(self, text: str, kind: str = "para", probe: str | None = None) -> None:
        if text.strip() and self.content(probe or text, code=kind == "code"):
            self.blocks.append(Block(text, tuple(self.path), kind=kind))

    def heading(self, level: int, text: str, aside: bool = False) -> None:
        if aside:
            return  # an admonition's own heading ("Note", "Tip"): its text stays in the current section
        if not text or (not self.path and not self.blocks and text == self.title):
            return
        if not self.title and level == 1:
            self.title = text
            return
        while self.levels and self.levels[-1] >= level:
            self.levels.pop()
            self.path.pop()
        self.levels.append(level)
        self.path.append(text)

    def element(self, el: Any) -> None:
        name = el.name
        if (name == "tr" or self.kept is None) and _navigation(el):
            return  # a navigation bar in a table row (a table of contents in lists stays)
        if name[0] == "h" and name[1:].isdigit():
            self.heading(int(name[1:]), _clean(el.get_text(" ")), aside=_in_admonition(el))
        elif name == "pre":
            lines = [line.rstrip() for line in el.get_text().strip("\n").splitlines()]
            self.add("```\n" + "\n".join(lines) + "\n```", "code")
        elif name == "tr":
            self.row(el)
        elif name == "dl":
            self.definitions(el)
        else:
            self.add(_clean(el.get_text(" ")))

    def row(self, el: Any) -> None:
        cells = [_clean(c.get_text(" ")) for c in el.find_all(["td", "th"], recursive=False)]
        if not any(cells):
            return
        if all(c.name == "th" for c in el.find_all(["td", "th"], recursive=False)):
            self._header = cells
            return
        header = self._header if self._header and len(self._header) == len(cells) > 1 else None
        if header:
            text = "; ".join(f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=True) if c)
        else:
            text = " | ".join(c for c in cells if c)
        self.add(text, "row", probe=" ".join(cells))

    def definitions(self, el: Any) -> None:
        term = ""
        for child in el.find_all(["dt", "dd"], recursive=False):
            text = _clean(child.get_text(" "))
            if child.name == "dt":
                term = f"{term}; {text}" if term and not self._described else text
                self._described = False
            else:
                self.add(f"{term} — {text}" if term else text, probe=text if len(_squash(text)) >= MIN_PROBE else None)
                self._described = True
        if term and not self._described:
            self.add(term)

    _described = False
