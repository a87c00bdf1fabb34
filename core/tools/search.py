"""Adapter from the knowledge retriever to the `search_knowledge` tool's `(turn, query) -> passages`."""

from __future__ import annotations

from typing import Any

from core.models import Passage
from core.tools.services import SearchFn


def knowledge_search(retrieval: Any) -> SearchFn:
    """`retrieval` is core.knowledge.stage.RetrievalStage: same collections, scope and options as retrieval."""
    from core.knowledge.stage import scope_for

    async def search(turn: Any, query: str) -> list[Passage]:
        options = retrieval.options(turn)
        collections, scope = scope_for(turn, options)
        if not collections:
            return []
        return await retrieval.knowledge.searcher.search(
            query, collections, scope, top_k=options.top_k, candidates=options.candidates, rrf_k=options.rrf_k,
            min_similarity=options.min_similarity, rerank=options.rerank, min_rerank_score=options.min_rerank_score,
        )

    return search
