"""The knowledge-gap report as people read it: collected from the log, rendered in English or Russian.

`deskmate gaps` (bots/commands/gaps.py) and the admin command `gaps` on Slack and Telegram
(`GapsCommand`, registered in bots/composition.py) both use `collect` and `render`, so an operator sees the
same report in a terminal and in a chat. The admin command shows only the caller's own platform and tenant
(the audience decides, core/admin.py lets only workspace admins run it) and says the range it covers.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Protocol

from core.admin import AdminContext, AdminReply
from core.knowledge.embeddings import Embedder
from core.knowledge.gap_report import REASONS, GapGroup, gap_report
from core.knowledge.gaps import Asked, GapLog
from core.texts import text

MAX_DAYS = 90  # the log's retention
CHAT_GROUPS = 10  # groups shown in a chat reply (the CLI shows --top)


class VoteSource(Protocol):
    async def votes(self, since: float, until: float) -> list[Any]: ...


async def collect(log: GapLog, votes: VoteSource, since: float, until: float) -> tuple[list[Asked], set[str]]:
    """Every question asked in [since, until], plus older ones voted 👎 in it; and the 👎'd reply ids."""
    asked = await log.asked(since, until)
    down = {v.reply_id for v in await votes.votes(since, until) if v.value == "down"}
    known = {a.reply_id for a in asked}
    asked += [a for a in await log.get(sorted(down - known)) if a]
    return asked, down


def _when(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(groups: list[GapGroup], since: float, until: float, lang: str | None, examples: int, top: int) -> str:
    lines = [text("gaps_title", lang, since=_when(since), until=_when(until))]
    if not groups:
        return "\n".join([*lines, text("gaps_none", lang)]) + "\n"
    for group in groups:
        lines.append("")
        lines.append(text("gaps_group", lang, tenant=group.tenant, bot=group.bot,
                          collections=", ".join(group.collections) or "-", count=group.count, gaps=len(group.gaps)))
        for gap in group.gaps[:top]:
            reasons = ", ".join(text(f"gaps_reason_{r}", lang, count=gap.reasons[r]) for r in REASONS if gap.reasons[r])
            lines.append("  " + text("gaps_item", lang, count=gap.count, reasons=reasons))
            lines.extend(f"    “{q}”" for q in gap.examples(examples))
            if gap.hidden and not gap.questions:
                lines.append("    " + text("gaps_hidden", lang))
            closest = gap.closest_document
            lines.append("    " + (text("gaps_closest", lang, title=closest[0] or "-", source=closest[1]) if closest
                                   else text("gaps_no_closest", lang)))
    return "\n".join(lines) + "\n"


class GapsCommand:
    """`gaps [days]`: this tenant's knowledge gaps of the last `days` (default 7, at most 90)."""

    def __init__(self, log: GapLog, votes: VoteSource, embedder: Embedder) -> None:
        self.log = log
        self.votes = votes
        self.embedder = embedder

    async def __call__(self, ctx: AdminContext, args: list[str]) -> AdminReply:
        try:
            days = float(args[0]) if args else 7.0
        except ValueError:
            days = -1.0
        if not 0 < days <= MAX_DAYS or len(args) > 1:
            return AdminReply(text("gaps_usage", ctx.locale, p=ctx.command_prefix, max=MAX_DAYS), ok=False)
        until = time.time()
        since = until - days * 86_400
        asked, down = await collect(self.log, self.votes, since, until)
        mine = [a for a in asked if a.platform == ctx.platform and a.tenant == ctx.tenant]
        groups = await gap_report(mine, down, self.embedder)
        return AdminReply(render(groups, since, until, ctx.locale, examples=2, top=CHAT_GROUPS).rstrip())
