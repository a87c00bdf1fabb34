"""`deskmate report`: satisfaction and cost per prompt version and per model, for a time range."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
from dataclasses import dataclass, field
from typing import Any

from bots.settings import Settings

DIMENSIONS = {"prompt": ("prompt", "prompt_version"), "model": ("model",)}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report", help="feedback and cost per prompt version and per model",
        description="Thumbs up/down and model cost per prompt version (A/B variants side by side) and per model, "
                    "for a time range (default: the last 7 days). Reads the feedback Deskmate stored in Redis.",
    )
    parser.add_argument("--since", type=_when, default=None,
                        help="start (YYYY-MM-DD or ISO time, UTC; default: 7 days ago)")
    parser.add_argument("--until", type=_when, default=None, help="end (YYYY-MM-DD or ISO time, UTC; default: now)")
    parser.add_argument("--days", type=float, default=7.0, help="range length when --since is not given")
    parser.add_argument("--by", choices=("prompt", "model", "both"), default="both", help="grouping (default both)")
    parser.add_argument("--format", choices=("table", "csv"), default="table", help="table (default) or csv")
    parser.set_defaults(func=run)


def _when(value: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or ISO time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


@dataclass
class Row:
    group: str
    key: str
    replies: int = 0
    up: int = 0
    down: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    estimated_tokens: int = 0  # of `tokens`, counted with a generic tokenizer (the server sent no usage)
    users: set[str] = field(default_factory=set)

    @property
    def satisfaction(self) -> float | None:
        return self.up / (self.up + self.down) if self.up + self.down else None


def build_rows(replies: list[dict[str, Any]], votes: list[Any], by: str) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    groups = ["prompt", "model"] if by == "both" else [by]

    def label(facts: dict[str, Any], group: str) -> str:
        return "@".join(str(facts.get(f, "-")) for f in DIMENSIONS[group])

    for group in groups:
        for facts in replies:
            row = rows.setdefault((group, label(facts, group)), Row(group, label(facts, group)))
            row.replies += 1
            row.cost_usd += float(facts.get("cost_usd", 0.0))
            tokens = int(facts.get("prompt_tokens", 0)) + int(facts.get("completion_tokens", 0))
            row.tokens += tokens
            if facts.get("usage_estimated"):
                row.estimated_tokens += tokens
        for vote in votes:
            k = (group, label(vote.facts, group))
            row = rows.setdefault(k, Row(group, k[1]))
            if vote.value == "up":
                row.up += 1
            else:
                row.down += 1
            row.users.add(vote.user)
    return sorted(rows.values(), key=lambda r: (groups.index(r.group), r.key))


HEADERS = ("group", "key", "replies", "up", "down", "satisfaction", "cost_usd", "cost_per_reply_usd", "tokens")
CSV_HEADERS = (*HEADERS, "estimated_tokens")


def _cells(row: Row) -> list[str]:
    sat = row.satisfaction
    per = row.cost_usd / row.replies if row.replies else 0.0
    tokens = str(row.tokens) + (f" (~{row.estimated_tokens} estimated)" if row.estimated_tokens else "")
    return [row.group, row.key, str(row.replies), str(row.up), str(row.down),
            f"{sat * 100:.1f}%" if sat is not None else "-", f"{row.cost_usd:.6f}", f"{per:.6f}", tokens]


def render_table(rows: list[Row], since: float, until: float) -> str:
    fmt = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")  # noqa: E731
    lines = [f"Deskmate report {fmt(since)} — {fmt(until)}"]
    if not rows:
        lines.append("No replies or feedback in this range.")
        return "\n".join(lines) + "\n"
    table = [list(HEADERS)] + [_cells(r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    numeric = set(range(2, len(HEADERS)))
    for n, cells in enumerate(table):
        lines.append("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    for row in rows:
        sat = row.satisfaction
        writer.writerow([row.group, row.key, row.replies, row.up, row.down,
                         f"{sat:.4f}" if sat is not None else "", f"{row.cost_usd:.6f}",
                         f"{row.cost_usd / row.replies if row.replies else 0.0:.6f}", row.tokens,
                         row.estimated_tokens])
    return buf.getvalue()


async def run(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from core.ops.feedback import FeedbackStore
    from core.state.redis import open_redis

    until = args.until if args.until is not None else time.time()
    since = args.since if args.since is not None else until - args.days * 86_400
    if since >= until:
        print("deskmate report: --since must be before --until", file=sys.stderr)
        return 2
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        store = FeedbackStore(redis, settings.feedback.retention_days)
        replies = await store.replies(since, until)
        votes = await store.votes(since, until)
    rows = build_rows(replies, votes, args.by)
    sys.stdout.write(render_csv(rows) if args.format == "csv" else render_table(rows, since, until))
    return 0
