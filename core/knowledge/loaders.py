"""Read files and URLs into structured documents: titled blocks with a section path (and a page for PDF).

Each loader keeps the structure chunking needs: headings become the section path, paragraphs and
table rows stay separate blocks, code stays verbatim. HTML keeps the main content only (core/knowledge/html.py).
Supported: Markdown, plain text, HTML, PDF, DOCX, CSV (one row per record).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = {
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text", ".html": "html", ".htm": "html",
    ".pdf": "pdf", ".docx": "docx", ".csv": "csv",
}


class UnsupportedDocument(ValueError):
    """The file type is not one we read."""


class UnreadableDocument(ValueError):
    """The file could not be parsed (broken, encrypted, empty...). The message names the reason, not content."""


@dataclass
class Block:
    text: str
    section: tuple[str, ...] = ()
    page: int | None = None
    kind: str = "para"  # "para" (may merge with neighbours), "code" (verbatim lines) or "row" (a record: its own chunk)


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class CsvMapping:
    """Which CSV columns make a record: its title, its text (joined), its section. Empty = all columns."""

    title: str | None = None
    text: tuple[str, ...] = ()
    section: str | None = None

    @classmethod
    def parse(cls, spec: str | None) -> CsvMapping:
        """`title=question,text=answer+notes,section=category`."""
        if not spec:
            return cls()
        values: dict[str, str] = {}
        for part in spec.split(","):
            name, sep, column = part.partition("=")
            if not sep or name.strip() not in {"title", "text", "section"} or not column.strip():
                raise ValueError(f"bad CSV mapping {part!r}: use title=COL,text=COL[+COL],section=COL")
            values[name.strip()] = column.strip()
        text = tuple(c.strip() for c in values.get("text", "").split("+") if c.strip())
        return cls(title=values.get("title"), text=text, section=values.get("section"))


def kind_of(name: str, content_type: str | None = None) -> str:
    """The loader kind for a file name (or an HTTP content type)."""
    if content_type:
        ct = content_type.split(";")[0].strip().lower()
        by_type = {"text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf",
                   "text/markdown": "markdown", "text/csv": "csv", "text/plain": "text",
                   "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx"}
        if ct in by_type:
            return by_type[ct]
    suffix = Path(name.split("?")[0]).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedDocument(f"unsupported file type {suffix or '(none)'!r}")
    return SUPPORTED_SUFFIXES[suffix]


def load(data: bytes, name: str, kind: str, csv_mapping: CsvMapping | None = None) -> Document:
    """Parse `data` (the bytes of file `name`) with the loader for `kind`."""
    stem = Path(name.split("?")[0].rstrip("/")).stem or name
    try:
        if kind == "markdown":
            doc = _markdown(_decode(data), stem)
        elif kind == "text":
            doc = _text(_decode(data), stem)
        elif kind == "html":
            doc = _html(data, stem)
        elif kind == "pdf":
            doc = _pdf(data, stem)
        elif kind == "docx":
            doc = _docx(data, stem)
        elif kind == "csv":
            doc = _csv(_decode(data), stem, csv_mapping or CsvMapping())
        else:
            raise UnsupportedDocument(f"unsupported document kind {kind!r}")
    except (UnsupportedDocument, UnreadableDocument):
        raise
    except Exception as exc:  # any parser failure: report the file, keep going with the others
        raise UnreadableDocument(f"{kind} parser failed: {type(exc).__name__}") from exc
    doc.blocks = [b for b in doc.blocks if b.text.strip()]
    if not doc.blocks:
        raise UnreadableDocument("no text found")
    return doc


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableDocument("not valid text (unknown encoding)")


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_SEP = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _markdown(text: str, stem: str) -> Document:
    title = ""
    path: list[str] = []
    levels: list[int] = []
    blocks: list[Block] = []
    para: list[str] = []
    table_header: list[str] | None = None
    in_fence = False

    def flush(kind: str = "para") -> None:
        if para:
            blocks.append(Block("\n".join(para).strip(), tuple(path), kind=kind))
            para.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            if not in_fence:
                flush()
            in_fence = not in_fence
            para.append(line)
            if not in_fence:
                flush("code")
            continue
        if in_fence:
            para.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            table_header = None
            level, name = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and not title:
                title = name
                continue
            while levels and levels[-1] >= level:
                levels.pop()
                path.pop()
            levels.append(level)
            path.append(name)
            continue
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if table_header is None:
                flush()
                table_header = cells
            elif _TABLE_SEP.match(line.strip()):
                continue
            else:
                pairs = [f"{h}: {c}" for h, c in zip(table_header, cells, strict=False) if c]
                blocks.append(Block("; ".join(pairs), tuple(path), kind="row"))
            continue
        table_header = None
        if not line.strip():
            flush()
            continue
        para.append(line)
    flush()
    return Document(title or stem, blocks)


def _text(text: str, stem: str) -> Document:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return Document(stem, [Block(p) for p in paragraphs])


def _html(data: bytes, stem: str) -> Document:
    from core.knowledge.html import html_document  # main content only (trafilatura), headings as sections

    return html_document(data, stem)


def _pdf(data: bytes, stem: str) -> Document:
    from pypdf import PdfReader  # lazy

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnreadableDocument("encrypted PDF")
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
        blocks: list[Block] = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            for para in re.split(r"\n\s*\n", text):
                if para.strip():
                    blocks.append(Block(re.sub(r"[ \t]*\n[ \t]*", " ", para).strip(), (), page=number))
    except UnreadableDocument:
        raise
    except Exception as exc:
        raise UnreadableDocument(f"broken PDF: {type(exc).__name__}") from exc
    return Document(str(meta_title).strip() or stem, blocks)


def _docx(data: bytes, stem: str) -> Document:
    import docx  # python-docx, lazy

    document = docx.Document(io.BytesIO(data))
    title = (document.core_properties.title or "").strip()
    path: list[str] = []
    levels: list[int] = []
    blocks: list[Block] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        if style == "Title" and not title:
            title = text
            continue
        if style.startswith("Heading"):
            level = int(style.split()[-1]) if style.split()[-1].isdigit() else 1
            while levels and levels[-1] >= level:
                levels.pop()
                path.pop()
            levels.append(level)
            path.append(text)
            continue
        blocks.append(Block(text, tuple(path)))
    for table in document.tables:
        rows = [[cell.text.strip() for cell in row.cells] for row in table.rows]
        if len(rows) < 2:
            continue
        header = rows[0]
        for row in rows[1:]:
            pairs = [f"{h}: {c}" for h, c in zip(header, row, strict=False) if c]
            blocks.append(Block("; ".join(pairs), tuple(path), kind="row"))
    return Document(title or stem, blocks)


def _csv(text: str, stem: str, mapping: CsvMapping) -> Document:
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    for col in (mapping.title, mapping.section, *mapping.text):
        if col and col not in columns:
            raise UnreadableDocument(f"CSV has no column {col!r}")
    blocks: list[Block] = []
    for row in reader:
        blocks.append(_csv_row(row, columns, mapping))
    return Document(stem, blocks)


def _csv_row(row: Mapping[str, str | None], columns: list[str], mapping: CsvMapping) -> Block:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    text_cols = list(mapping.text) or [c for c in columns if c not in {mapping.title, mapping.section}]
    title = cell(mapping.title) if mapping.title else cell(columns[0]) if columns else ""
    section = tuple(s for s in (cell(mapping.section) if mapping.section else "", title) if s)
    if mapping.text:
        body = "\n".join(cell(c) for c in text_cols if cell(c))
    else:
        body = "; ".join(f"{c}: {cell(c)}" for c in text_cols if cell(c))
    if mapping.title and title and mapping.text:
        body = f"{title}\n{body}"
    return Block(body, section, kind="row")
