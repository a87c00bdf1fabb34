"""`deskmate report`: satisfaction and cost per prompt version and per model, and human handoffs and tickets per
tenant, and model spend per tenant split into the main answer and the side calls (cache judge, rewrite, summary,
rerank, embeddings, speech-to-text, vision), for a time range; `--platform`/`--tenant` limit it to one audience's
own figures."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import sys
from dataclasses import dataclass, field
from typing import Any

from bots.commands.time_range import add_range_arguments, time_range
from bots.settings import Settings

DIMENSIONS = {"prompt": ("prompt", "prompt_version"), "model": ("model",)}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report", help="feedback and cost per prompt version and per model",
        description="Thumbs up/down and model cost per prompt version (A/B variants side by side) and per model, "
                    "for a time range (default: the last 7 days). Reads the feedback Deskmate stored in Redis.",
    )
    add_range_arguments(parser)
    parser.add_argument("--by", choices=("prompt", "model", "both"), default="both", help="grouping (default both)")
    parser.add_argument("--format", choices=("table", "csv"), default="table", help="table (default) or csv")
    parser.add_argument("--what", choices=("all", "feedback", "handoffs", "spend"), default="all",
                        help="sections (default all; csv prints one: feedback unless `handoffs` or `spend`)")
    parser.add_argument("--platform", default=None, help="only this platform's figures (slack, telegram, console)")
    parser.add_argument("--tenant", default=None, help="only this tenant's figures (a Slack team id, the Telegram "
                                                       "deployment tenant)")
    parser.set_defaults(func=run)


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


def _scoped(facts: dict[str, Any], platform: str | None, tenant: str | None) -> bool:
    return (platform is None or facts.get("platform") == platform) and (tenant is None or facts.get("tenant") == tenant)


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


HANDOFF_HEADERS = ("tenant", "handoffs", "reasons", "resolved", "handed_back", "timed_out", "idle", "open",
                   "first_reply_median_s", "tickets_open", "tickets_pending", "tickets_resolved")


def handoff_cells(row: Any) -> list[str]:
    median = row.median_first_reply_s
    reasons = ",".join(f"{k}={v}" for k, v in sorted(row.by_reason.items())) or "-"
    return [row.scope, str(row.handoffs), reasons, str(row.resolved), str(row.handed_back), str(row.timed_out),
            str(row.idle), str(row.open_now), f"{median:.1f}" if median is not None else "-",
            *(str(row.tickets.get(s, 0)) for s in ("open", "pending", "resolved"))]


def render_handoffs(rows: list[Any], csv_format: bool) -> str:
    table = [list(HANDOFF_HEADERS)] + [handoff_cells(r) for r in rows]
    if csv_format:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(table)
        return buf.getvalue()
    if not rows:
        return "\nHuman handoffs and tickets: none in this range.\n"
    widths = [max(len(r[i]) for r in table) for i in range(len(HANDOFF_HEADERS))]
    lines = ["", "Human handoffs and tickets (tickets: current counts)"]
    for n, cells in enumerate(table):
        lines.append("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render_spend(table: list[list[str]], csv_format: bool) -> str:
    """Model spend per tenant: main answer vs side calls (core/ops/spend.py)."""
    if csv_format:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(table)
        return buf.getvalue()
    if len(table) == 1:
        return "\nModel spend per tenant: none in this range.\n"
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["", "Model spend per tenant (main answer vs side calls; whole UTC days)"]
    for n, cells in enumerate(table):
        lines.append("  ".join(c.ljust(w) if i in (0, 1, 6) else c.rjust(w)
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

    from core.handoff.report import figures
    from core.handoff.state import HandoffStore
    from core.ops.feedback import FeedbackStore
    from core.ops.spend import spend_between, spend_table
    from core.state.redis import open_redis
    from core.tools.tickets import TicketStore

    window = time_range(args, "report")
    if window is None:
        return 2
    since, until = window
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        store = FeedbackStore(redis, settings.feedback.retention_days)
        platform, tenant = args.platform, args.tenant
        replies = [r for r in await store.replies(since, until) if _scoped(r, platform, tenant)]
        votes = [v for v in await store.votes(since, until) if _scoped(v.facts, platform, tenant)]
        handoffs = await HandoffStore(redis, settings.handoff.keep_days).history(since, until)
        tickets = await TicketStore(redis, settings.tools.ticket_prefix).by_status(platform, tenant)
        spend = spend_table(await spend_between(redis, since, until, platform, tenant))
    rows = build_rows(replies, votes, args.by)
    what, csv_format = args.what, args.format == "csv"
    if what in ("all", "feedback"):
        sys.stdout.write(render_csv(rows) if csv_format else render_table(rows, since, until))
    if what == "handoffs" or (what == "all" and not csv_format):
        sys.stdout.write(render_handoffs(figures(handoffs, tickets, platform, tenant), csv_format))
    if what == "spend" or (what == "all" and not csv_format):
        sys.stdout.write(render_spend(spend, csv_format))
    return 0
