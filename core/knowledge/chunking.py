"""Structure-aware chunking: paragraphs of one section merge up to a token budget; long text splits
on sentences with an overlap; table/CSV rows stay whole records; code blocks keep their lines (a code
block longer than the budget splits between lines, each piece fenced again).

Tokens are counted as words and punctuation marks, close to the word pieces of small embedding
models (the local USE encoder averages over every word piece, so shorter chunks keep focus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.knowledge.loaders import Block, Document

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|\n+")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class ChunkText:
    text: str
    section: tuple[str, ...]
    page: int | None


def chunk_document(doc: Document, max_tokens: int = 180, overlap: float = 0.15) -> list[ChunkText]:
    """Split a document into chunks of at most ~max_tokens, ~overlap of a chunk repeated when a section splits."""
    chunks: list[ChunkText] = []
    pending: list[Block] = []

    def flush() -> None:
        if not pending:
            return
        text = "\n\n".join(b.text for b in pending)
        chunks.extend(_split(text, pending[0].section, pending[0].page, max_tokens, overlap))
        pending.clear()

    for block in doc.blocks:
        if block.kind == "row":
            flush()
            chunks.extend(_split(block.text, block.section, block.page, max_tokens, overlap))
            continue
        if block.kind == "code" and count_tokens(block.text) > max_tokens:
            flush()
            chunks.extend(ChunkText(t, block.section, block.page) for t in _split_code(block.text, max_tokens))
            continue
        if pending and (pending[0].section != block.section or pending[0].page != block.page
                        or sum(count_tokens(b.text) for b in pending) + count_tokens(block.text) > max_tokens):
            flush()
        pending.append(block)
    flush()
    return chunks


def _split_code(text: str, max_tokens: int) -> list[str]:
    """A fenced code block cut between lines into pieces of at most ~max_tokens, each fenced."""
    body = text.strip()
    fenced = body.startswith("```")
    lines = body.splitlines()[1:-1] if fenced and body.endswith("```") and body.count("\n") >= 1 else body.splitlines()
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        n = max(1, count_tokens(line))
        if current and size + n > max_tokens:
            pieces.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += n
    if current:
        pieces.append("\n".join(current))
    return [f"```\n{p}\n```" for p in pieces if p.strip()]


def _split(text: str, section: tuple[str, ...], page: int | None, max_tokens: int, overlap: float) -> list[ChunkText]:
    if count_tokens(text) <= max_tokens:
        return [ChunkText(text.strip(), section, page)]
    units = [u.strip() for u in _SENTENCE.split(text) if u and u.strip()]
    pieces: list[str] = []
    for unit in units:  # a "sentence" longer than the budget splits on words
        if count_tokens(unit) > max_tokens:
            words = unit.split()
            step = max(1, int(max_tokens * 0.75))
            pieces.extend(" ".join(words[i:i + step]) for i in range(0, len(words), step))
        else:
            pieces.append(unit)
    overlap_tokens = max(1, int(max_tokens * overlap))
    out: list[ChunkText] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        n = count_tokens(piece)
        if current and size + n > max_tokens:
            out.append(ChunkText(" ".join(current), section, page))
            carried: list[str] = []  # the tail of this chunk starts the next one (overlap)
            carried_size = 0
            for prev in reversed(current):
                m = count_tokens(prev)
                if carried_size + m > overlap_tokens:
                    break
                carried.insert(0, prev)
                carried_size += m
            if not carried:  # last sentence too long to carry whole: carry its last words
                tail = current[-1].split()[-max(1, overlap_tokens * 3 // 4):]
                carried, carried_size = [" ".join(tail)], count_tokens(" ".join(tail))
            current, size = carried, carried_size
        current.append(piece)
        size += n
    if current:
        out.append(ChunkText(" ".join(current), section, page))
    return out
