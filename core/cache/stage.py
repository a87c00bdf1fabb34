"""Cache stage: answer a repeated question from the semantic cache; store eligible answers on the way out.

Runs after the PII stage (the question is masked; answers flowing back still hold placeholders) and the memory
stage (`turn.history` is loaded; memory appends a cached exchange like any other), before retrieval and the
model. An exact repeat is served at once. A candidate that needs the verifier is
judged while the normal path already runs (core/cache/race.py): nothing is shown until the verifier has
decided; on yes the normal path is cancelled and the cached answer streamed, on no (or an error, or a
timeout) the normal path's events flow on. A hit streams like a model answer (a few word-grouped deltas,
citations, one Final with `cached=True`), so adapters render it the same way.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import structlog

from core.cache.race import HeldBack
from core.cache.semantic import Lookup, SemanticCache
from core.engine import Next
from core.models import Citation, CitationEvent, Final, ReplyEvent, TextDelta, Usage
from core.pii.guard import unchanged_by_masking
from core.turn import Turn

log = structlog.get_logger("deskmate.cache")
CHUNKS = 6  # deltas per cached answer: streams like a model answer, without per-word overhead
TOKEN = re.compile(r"\S+\s*|\s+")


def word_chunks(text: str, chunks: int = CHUNKS) -> list[str]:
    """Split `text` into about `chunks` pieces on word boundaries; joined they give back `text` exactly."""
    pieces = TOKEN.findall(text)
    size = max(1, -(-len(pieces) // chunks))
    return ["".join(pieces[i:i + size]) for i in range(0, len(pieces), size)]


class CacheStage:
    name = "cache"

    def __init__(self, cache: SemanticCache) -> None:
        self.cache = cache

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        reason = await self.cache.skip_reason(turn)
        lookup: Lookup | None = None
        if reason is None:
            try:
                lookup = await self.cache.exact(turn)  # no embedding: a Redis read and one row
            except Exception as exc:  # the cache is an optimisation: never fail a reply because of it
                log.warning("cache_lookup_failed", request_id=turn.reply_id, error=type(exc).__name__)
                reason = "error"
        if reason is not None:
            turn.facts["cache"] = f"skip:{reason}"
            await self.cache.record_skip(turn, reason)
            async for event in call_next(turn):
                yield event
            return
        assert lookup is not None
        downstream = call_next(turn)
        held: HeldBack | None = None
        if lookup.hit is None:
            # Not an exact repeat: the normal path starts now; candidates and the verifier run beside it.
            held = HeldBack(downstream)
            try:
                await self.cache.find(turn, lookup)
                if lookup.candidates:
                    await self.cache.verify(turn, lookup)
            except Exception as exc:  # a verifier (or search) that fails is a miss, never a hit
                log.warning("cache_verify_failed", request_id=turn.reply_id, error=type(exc).__name__)
                turn.facts["cache_verify"] = "error"
                self.cache.counters["verify_error"] += 1
                lookup.hit = None
            except BaseException:
                await held.cancel()
                raise
            if lookup.hit is None:
                downstream = held.release()
        if lookup.hit is not None:
            turn.facts["cache"] = "hit"
            counted = False
            try:
                async for event in self._replay(turn, lookup):
                    yield event
                    if not counted:  # the user sees the answer first; then the normal path stops, the hit counts
                        counted = True
                        if held is not None:
                            await held.cancel()
                        await self._decided(turn, lookup)
            finally:
                if held is not None:  # idempotent: also when the client went away before the first text
                    await held.cancel()
            return
        await self._decided(turn, lookup)
        turn.facts["cache"] = "miss"
        final = None
        async for event in downstream:
            if isinstance(event, Final):
                final = event
            yield event
        skip = self.cache.store_skip_reason(turn, final)
        if skip is not None:
            turn.facts["cache_store"] = f"skip:{skip}"
            return
        assert final is not None
        if lookup.vector is None:
            turn.facts["cache_store"] = "skip:no_vector"
            return
        if not await unchanged_by_masking(turn, lookup.question, final.text, store="cache"):
            turn.facts["cache_store"] = "skip:personal_data"
            return
        try:
            await self.cache.store(lookup, turn, final)
            turn.facts["cache_store"] = "stored"
        except Exception as exc:
            log.warning("cache_store_failed", request_id=turn.reply_id, error=type(exc).__name__)
            turn.facts["cache_store"] = "error"

    async def _decided(self, turn: Turn, lookup: Lookup) -> None:
        try:
            await self.cache.decided(turn, lookup)
        except Exception as exc:
            log.warning("cache_count_failed", request_id=turn.reply_id, error=type(exc).__name__)

    async def _replay(self, turn: Turn, lookup: Lookup) -> AsyncIterator[ReplyEvent]:
        assert lookup.hit is not None
        entry = lookup.hit.entry
        turn.cached = True
        turn.model, turn.prompt_name, turn.prompt_version = entry.model, entry.prompt_name, entry.prompt_version
        turn.citations = [Citation.model_validate(c) for c in entry.citations]
        pieces = word_chunks(entry.text) if turn.flags.get("streaming", True) else [entry.text]
        for piece in pieces:
            yield TextDelta(text=piece)
        for citation in turn.citations:
            yield CitationEvent(citation=citation)
        yield Final(
            reply_id=turn.reply_id, text=entry.text, citations=tuple(turn.citations), usage=Usage(),
            model=entry.model, prompt_name=entry.prompt_name, prompt_version=entry.prompt_version, cached=True,
        )
