"""Boilerplate repeated across pages: text blocks that recur on many documents of one source.

trafilatura drops most page chrome, but what it keeps on every page of a site (a footer sentence, a
cookie note, a "Was this page helpful?" line, a sidebar it takes for content) would otherwise become a
passage on every page and win searches for those words. At ingest every paragraph and table row gets
a fingerprint (its letters and digits, lower-cased); a fingerprint found on at least
MIN_PAGES documents and on at least SHARE of the documents of the same source is boilerplate and is not
chunked. Code blocks are never dropped (a repeated example is content). A document whose every block is
repeated (a copy of another page) is kept as it is.

A source is the folder given to `deskmate ingest` (or, for a single file, its folder), or a URL's host.
The fingerprints of each document are stored with its first chunk, so a re-ingest that parses only the
changed documents still counts the unchanged ones.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from core.knowledge.loaders import Document

# Chosen on Debian's nodejs (65 pages), valgrind (40) and libxslt (32) HTML docs, not on the held-out corpus: at
# 0.3 libxslt's menu that trafilatura keeps (on 38 % of its pages) goes, and nothing of nodejs' API text does
# (its most repeated long blocks are on under 10 % of pages; "Returns: <boolean>" is too short to judge).
MIN_PAGES = 3  # a block on fewer documents than this is never boilerplate (two pages can share a paragraph)
SHARE = 0.3  # ... and it must be on at least this share of the source's documents
MIN_CHARS = 20  # letters/digits; shorter blocks ("Table of Contents", "Returns: <string>") are not judged
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
KINDS = ("para", "row")


def fingerprint(text: str) -> str | None:
    """A short stable id of a block's wording (None for a block too short to judge)."""
    squashed = _NOT_ALNUM.sub("", text.lower())  # numbers kept: templated pages differ only in them
    if len(squashed) < MIN_CHARS:
        return None
    return hashlib.blake2b(squashed.encode(), digest_size=5).hexdigest()


def fingerprints(doc: Document) -> list[str]:
    """The document's distinct block fingerprints, in order (stored as one space-separated string)."""
    found = (fingerprint(b.text) for b in doc.blocks if b.kind in KINDS)
    return list(dict.fromkeys(f for f in found if f))


def source_group(name: str, root: str = "") -> str:
    """Which pages count together: the ingested folder, a single file's folder, or a URL's host."""
    if name.startswith(("http://", "https://")):
        parts = urlsplit(name)
        return f"{parts.scheme}://{parts.netloc.lower()}"
    return root or str(Path(name).parent)


class Repeats:
    """Fingerprint counts per source group, over every document of the collection that is known."""

    def __init__(self) -> None:
        self.pages: Counter[str] = Counter()
        self.counts: dict[str, Counter[str]] = {}

    def add(self, group: str, prints: Iterable[str]) -> None:
        self.pages[group] += 1
        self.counts.setdefault(group, Counter()).update(set(prints))

    def repeated(self, group: str) -> set[str]:
        pages = self.pages.get(group, 0)
        need = max(MIN_PAGES, SHARE * pages)
        return {f for f, n in self.counts.get(group, Counter()).items() if n >= need}

    def strip(self, doc: Document, group: str) -> tuple[Document, int]:
        """The document without its boilerplate blocks, and how many were dropped."""
        repeated = self.repeated(group)
        if not repeated:
            return doc, 0
        kept = [b for b in doc.blocks if b.kind not in KINDS or fingerprint(b.text) not in repeated]
        if not kept or all(b.kind in KINDS and fingerprint(b.text) is None for b in kept):
            return doc, 0  # every block is on other pages too: a copy, not chrome
        return replace(doc, blocks=kept), len(doc.blocks) - len(kept)
