"""`deskmate gaps`: questions the knowledge base could not answer well, grouped by meaning, masked.

Per tenant, bot and collections: questions the bot abstained on, answered on weak evidence, or whose
answer got 👎, grouped (similar questions together) with counts, reasons, masked examples and the
closest document (core/knowledge/gap_report.py). Reads what Deskmate stored in Redis.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bots.commands.time_range import add_range_arguments, time_range
from bots.settings import Settings
from core.knowledge.gap_report import REASONS, GapGroup


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gaps", help="knowledge gaps: questions abstained on, weakly answered or voted down",
        description="Questions the knowledge base could not answer well (abstained, low evidence, 👎), masked, "
                    "grouped by meaning per tenant, bot and collections, with counts and the closest document.",
    )
    add_range_arguments(parser)
    parser.add_argument("--tenant", default=None, help="only this tenant")
    parser.add_argument("--bot", default=None, help="only this bot")
    parser.add_argument("--examples", type=int, default=3, help="examples shown per group (default 3)")
    parser.add_argument("--top", type=int, default=20, help="groups shown per tenant and bot (default 20)")
    parser.add_argument("--lang", choices=("en", "ru"), default="en", help="report language (default en)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def as_json(groups: list[GapGroup], examples: int, top: int) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        gaps = []
        for gap in group.gaps[:top]:
            closest = gap.closest_document
            gaps.append({"count": gap.count, "reasons": {r: gap.reasons[r] for r in REASONS if gap.reasons[r]},
                         "examples": gap.examples(examples), "hidden": gap.hidden,
                         "closest": {"title": closest[0], "source": closest[1]} if closest else None})
        out.append({"tenant": group.tenant, "bot": group.bot, "collections": list(group.collections),
                    "count": group.count, "gaps": gaps})
    return out


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from core.knowledge.embeddings import build_embedder
    from core.knowledge.gap_report import gap_report
    from core.knowledge.gap_views import collect, render
    from core.knowledge.gaps import GapLog
    from core.ops.feedback import FeedbackStore
    from core.state.redis import open_redis

    window = time_range(args, "gaps")
    if window is None:
        return 2
    since, until = window
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with open_redis(settings.redis_url, settings.data_dir) as redis:
        asked, down = await collect(GapLog(redis), FeedbackStore(redis, settings.feedback.retention_days),
                                    since, until)
    asked = [a for a in asked if (args.tenant is None or a.tenant == args.tenant)
             and (args.bot is None or a.bot == args.bot)]
    groups = await gap_report(asked, down, build_embedder(settings.embeddings).phrases)
    if args.json:
        json.dump(as_json(groups, args.examples, args.top), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(groups, since, until, args.lang, args.examples, args.top))
    return 0
