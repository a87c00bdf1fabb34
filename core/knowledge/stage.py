"""Retrieval stage: when `rag` is on, search the conversation's collections and fill `turn.passages`.

The query is the message, or for a follow-up, the message rewritten from the conversation
(core/knowledge/followup.py). When the best passages are below the evidence gate's confidence
(core/knowledge/evidence.py), the stage answers itself: it found nothing reliable, here are the closest
sources, shall it open a ticket or call a person. The model is not asked to answer from weak passages.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from core.engine import Next
from core.knowledge.errors import KnowledgeError
from core.knowledge.evidence import CLOSEST_SOURCES, confidence, gate_floor, gated
from core.knowledge.followup import QueryRewriter
from core.knowledge.gaps import LOW_EVIDENCE_MARGIN, QUESTION_CHARS, Asked, GapLog
from core.knowledge.options import RetrievalOptions
from core.knowledge.search import Scope
from core.models import CitationEvent, Final, Passage, ReplyEvent, Status, TextDelta
from core.texts import text
from core.translit import russian_reading
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


OVERSAMPLE = 3  # passages fetched per passage kept, so that a long page does not fill every slot
PER_DOCUMENT = 2  # passages of one document among the top_k while other documents qualify


def diverse(ranked: Sequence[Passage], top_k: int) -> list[Passage]:
    """The best `top_k` passages in rank order, at most PER_DOCUMENT from one document unless too few others."""
    kept: list[Passage] = []
    spare: list[Passage] = []
    per_doc: dict[str, int] = {}
    for passage in ranked:
        doc = passage.url or passage.source_id
        if per_doc.get(doc, 0) < PER_DOCUMENT:
            per_doc[doc] = per_doc.get(doc, 0) + 1
            kept.append(passage)
        else:
            spare.append(passage)
        if len(kept) == top_k:
            break
    if len(kept) < top_k:
        order = {id(p): i for i, p in enumerate(ranked)}
        kept = sorted(kept + spare[: top_k - len(kept)], key=lambda p: order[id(p)])
    return kept


@dataclass
class Retrieved:
    """What one search found: the passages for the prompt, and whether they are good enough to answer from."""

    query: str
    passages: list[Passage] = field(default_factory=list)
    confidence: float = 0.0
    confident: bool = False


class RetrievalStage:
    name = "retrieval"

    def __init__(self, knowledge: Knowledge, rewriter: QueryRewriter | None = None) -> None:
        self.knowledge = knowledge
        self.rewriter = rewriter or QueryRewriter()
        self.gaps = GapLog(knowledge.store.redis)  # what `deskmate gaps` reports
        self._options: dict[str, RetrievalOptions] = {}

    def options(self, turn: Turn) -> RetrievalOptions:
        opts = self._options.get(turn.profile.name)
        if opts is None:
            opts = self._options[turn.profile.name] = RetrievalOptions.model_validate(turn.profile.retrieval)
        return opts

    def gate_floor(self, options: RetrievalOptions) -> float:
        """The evidence gate's floor: the profile's, else the one calibrated for this embedding model."""
        if options.min_confidence is not None:
            return options.min_confidence
        return gate_floor(self.knowledge.embedder.model_id)

    async def retrieve(self, query: str, collections: Sequence[str], scope: Scope, options: RetrievalOptions,
                       timings: dict[str, float] | None = None) -> Retrieved:
        """Search for `query` with these options (the stage's own path; `deskmate eval` and the bench use it)."""
        ranked = await self.knowledge.searcher.search(
            query, collections, scope, top_k=options.top_k * OVERSAMPLE, candidates=options.candidates,
            rrf_k=options.rrf_k, min_similarity=options.min_similarity, rerank=options.rerank,
            min_rerank_score=options.min_rerank_score, timings=timings,
        )
        passages = diverse(ranked, options.top_k)
        judged = russian_reading(query) or query  # Russian typed in Latin letters: judged on its Cyrillic reading
        unknown = await self.knowledge.searcher.unknown_terms(judged, collections) if passages else []
        translated = await self.knowledge.searcher.translations(judged, collections) if passages else {}
        score = confidence(judged, passages, unknown, translated)
        floor = self.gate_floor(options)
        return Retrieved(query, passages, score, bool(passages) and score >= floor)

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        if turn.enabled("rag") and turn.text.strip():
            options = self.options(turn)
            collections, scope = scope_for(turn, options)
            if collections:
                searching = text("searching_kb", turn.language)
                yield Status(text=searching, step="kb")
                timings: dict[str, float] = {}
                query, how = await self.rewriter.query(turn.text, turn.history, turn.summary, turn.reply_id,
                                                       mode=options.rewrite)
                turn.facts["retrieval_query"] = how
                found = Retrieved(query)
                try:
                    found = await self.retrieve(query, collections, scope, options, timings)
                except KnowledgeError as exc:  # e.g. a collection built with another model: answer without it
                    log.warning("retrieval_failed", request_id=turn.reply_id, error=type(exc).__name__)
                turn.passages = found.passages
                turn.kb_version = turn.kb_version or await self.knowledge.kb_version(turn.inbound.tenant, collections)
                turn.retrieval_ran = True
                turn.facts["retrieval_passages"] = len(turn.passages)
                turn.facts["retrieval_ms"] = round(sum(timings.values()) * 1000, 2)
                turn.facts["retrieval_confidence"] = found.confidence
                yield Status(text=searching, step="kb", state="done")
                if not turn.passages:
                    turn.facts["retrieval_empty"] = True
                abstain = not found.confident and options.abstain
                floor = self.gate_floor(options)
                turn.low_evidence = found.confident and found.confidence < floor + LOW_EVIDENCE_MARGIN
                if gated(turn.text):
                    await self._note(turn, found, collections, options, abstained=abstain)
                    if abstain:
                        async for event in self._abstain(turn, found.passages):
                            yield event
                        return
                elif abstain:
                    turn.passages = []  # small talk or an action request: weak passages are not evidence
        async for event in call_next(turn):
            yield event

    async def _note(self, turn: Turn, found: Retrieved, collections: Sequence[str], options: RetrievalOptions,
                    abstained: bool) -> None:
        """Log the question (masked; not kept at all when masking is off) with its evidence for the gap report."""
        floor = self.gate_floor(options)
        masked = turn.facts.get("pii") == "on"
        top = found.passages[0] if found.passages else None
        inbound = turn.inbound
        try:
            await self.gaps.record(Asked(
                reply_id=turn.reply_id, at=time.time(), platform=inbound.platform, tenant=inbound.tenant,
                bot=inbound.bot, collections=tuple(collections), question=turn.text[:QUESTION_CHARS] if masked else "",
                query=found.query[:QUESTION_CHARS] if masked else "", confidence=found.confidence, abstained=abstained,
                low_evidence=not abstained and found.confidence < floor + LOW_EVIDENCE_MARGIN,
                closest_title=top.title if top else "", closest_source=top.url if top else "",
                conversation=inbound.conversation_key))
        except Exception as exc:  # bookkeeping never costs the user the answer
            log.warning("gap_record_failed", request_id=turn.reply_id, error=type(exc).__name__)

    @staticmethod
    async def _abstain(turn: Turn, closest: Sequence[Passage]) -> AsyncIterator[ReplyEvent]:
        """Nothing reliable: say so, show the closest sources, offer a ticket or a person. No model call."""
        turn.facts["abstained"] = True
        turn.abstained = True
        turn.retrieval_only = True  # an answer made without the model: never cached as a model answer
        lang = turn.language  # the message's language (core/language.py, set by the engine)
        parts = [text("kb_nothing_reliable", lang)]
        sources: list[Passage] = []
        for passage in closest:
            if len(sources) < CLOSEST_SOURCES and all(p.url != passage.url for p in sources):
                sources.append(passage)
        if sources:
            lines = [f"- {' — '.join(x for x in (p.title, p.section) if x) or p.source_id}" for p in sources]
            parts.append(text("kb_closest_sources", lang) + "\n" + "\n".join(lines))
        parts.append(text("kb_offer_help", lang))
        body = "\n\n".join(parts)
        yield TextDelta(text=body)
        citations = tuple(p.citation() for p in sources)
        for citation in citations:
            yield CitationEvent(citation=citation)
        turn.citations = list(citations)
        yield Final(reply_id=turn.reply_id, text=body, citations=citations, retrieval_only=True)
