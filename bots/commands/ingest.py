"""`deskmate ingest PATH...`: add files, folders and URLs to a knowledge collection (incremental)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING, TextIO

from bots.settings import Settings

if TYPE_CHECKING:
    from core.knowledge.ingest import IngestReport

DEFAULT_COLLECTION = "company"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ingest", help="add documents to the knowledge base",
        description="Ingest Markdown, text, HTML, PDF, DOCX and CSV files, folders (recursively) and http(s) URLs "
                    "into a knowledge collection. Unchanged documents are skipped, changed ones re-indexed, and "
                    "documents gone from a re-ingested folder removed. Unreadable files are reported and skipped.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file, folder or http(s) URL")
    parser.add_argument("--collection", default=DEFAULT_COLLECTION, help=f"collection (default: {DEFAULT_COLLECTION})")
    parser.add_argument("--tag", action="append", default=[], metavar="K=V", help="tag every document (repeatable)")
    parser.add_argument("--tenant", default="*",
                        help="only this tenant (Slack team id / Telegram bot id) may read them (default: * = all)")
    parser.add_argument("--access-group", default="*",
                        help="only bots granted this access group may read them (default: * = everyone)")
    parser.add_argument("--csv-map", default=None, metavar="SPEC",
                        help="CSV columns of a record: title=COL,text=COL[+COL],section=COL (default: all columns)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(func=run)


def parse_tags(items: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip() or not name.strip().isidentifier():
            raise ValueError(f"bad --tag {item!r}: use NAME=VALUE")
        tags[name.strip()] = value.strip()
    return tags


class ProgressLine:
    """A one-line progress bar on stderr (redrawn in place on a terminal, every 10% otherwise)."""

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr  # looked up now: stderr may be replaced
        self.width = width
        self.tty = self.stream.isatty()
        self.last_decile = -1
        self.last_draw = 0.0

    def __call__(self, done: int, total: int, report: IngestReport, name: str) -> None:
        fraction = done / total if total else 1.0
        now = time.monotonic()
        if self.tty:
            if done != total and now - self.last_draw < 0.1:
                return
        elif int(fraction * 10) == self.last_decile and done != total:
            return
        self.last_draw, self.last_decile = now, int(fraction * 10)
        filled = int(fraction * self.width)
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} docs  +{report.added} "
                f"~{report.updated} ={report.unchanged} !{len(report.failed)}  {report.chunks} chunks")
        self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        if self.tty and done == total:
            self.stream.write("\n")
        self.stream.flush()


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from core.knowledge.build import open_knowledge
    from core.knowledge.errors import KnowledgeError
    from core.knowledge.loaders import CsvMapping
    from core.state.redis import open_redis

    try:
        tags = parse_tags(args.tag)
        mapping = CsvMapping.parse(args.csv_map) if args.csv_map else None
    except ValueError as exc:
        print(f"deskmate ingest: {exc}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        knowledge = await open_knowledge(settings.embeddings, settings.chroma, settings.data_dir, redis)
        try:
            report = await knowledge.ingest(
                args.paths, args.collection, tenant=args.tenant, access_group=args.access_group, tags=tags,
                csv_mapping=mapping, progress=None if args.quiet else ProgressLine(),
            )
        except KnowledgeError as exc:
            print(f"deskmate ingest: {exc}", file=sys.stderr)
            return 2
        finally:
            await knowledge.aclose()
    print(report.summary())
    return 1 if report.failed and not (report.added or report.updated or report.unchanged) else 0
