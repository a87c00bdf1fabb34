"""Retrieval stage: when `rag` is on, search the conversation's collections and fill `turn.passages`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import structlog

from core.engine import Next
from core.knowledge.errors import KnowledgeError
from core.knowledge.options import RetrievalOptions
from core.knowledge.search import Scope
from core.models import ReplyEvent, Status
from core.texts import text
from core.turn import Turn

if TYPE_CHECKING:
    from core.knowledge.build import Knowledge

log = structlog.get_logger("deskmate.retrieval")


def scope_for(turn: Turn, options: RetrievalOptions) -> tuple[tuple[str, ...], Scope]:
    """Collections (the bot profile's, narrowed by the channel's entry) and the scope: the access groups are the
    audience's (core/audience.py), decided at the edge: never widened here."""
    channel = options.channels.get(turn.inbound.channel)
    collections = turn.profile.collections
    if channel is not None and channel.collections is not None:
        collections = channel.collections
    audience = turn.inbound.audience
    since = time.time() - options.max_age_days * 86_400 if options.max_age_days else None
    return tuple(collections), Scope(tenant=audience.tenant, access_groups=audience.access_groups,
                                     tags=dict(options.tags), updated_since=since)


class RetrievalStage:
    name = "retrieval"

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self._options: dict[str, RetrievalOptions] = {}

    def options(self, turn: Turn) -> RetrievalOptions:
        opts = self._options.get(turn.profile.name)
        if opts is None:
            opts = self._options[turn.profile.name] = RetrievalOptions.model_validate(turn.profile.retrieval)
        return opts

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        if turn.enabled("rag") and turn.text.strip():
            options = self.options(turn)
            collections, scope = scope_for(turn, options)
            if collections:
                yield Status(text=text("searching_kb", turn.language))
                timings: dict[str, float] = {}
                try:
                    turn.passages = await self.knowledge.searcher.search(
                        turn.text, collections, scope, top_k=options.top_k, candidates=options.candidates,
                        rrf_k=options.rrf_k, min_similarity=options.min_similarity, rerank=options.rerank,
                        min_rerank_score=options.min_rerank_score, timings=timings,
                    )
                except KnowledgeError as exc:  # e.g. a collection built with another model: answer without it
                    log.warning("retrieval_failed", request_id=turn.reply_id, error=type(exc).__name__)
                    turn.passages = []
                turn.kb_version = turn.kb_version or await self.knowledge.kb_version(turn.inbound.tenant, collections)
                turn.facts["retrieval_passages"] = len(turn.passages)
                turn.facts["retrieval_ms"] = round(sum(timings.values()) * 1000, 2)
                if not turn.passages:
                    turn.facts["retrieval_empty"] = True
        async for event in call_next(turn):
            yield event
