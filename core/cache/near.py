"""GPTCache's SSDataManager, minus the scalar-store reads for candidates that can never be a hit."""

from __future__ import annotations

from typing import Any

from gptcache.manager.data_manager import SSDataManager


class NearOnlyDataManager(SSDataManager):
    """`search` drops vector results below the scope's base threshold before GPTCache fetches their rows.

    GPTCache reads (and commits `last_access` for) every top-k result before evaluating it; our second
    check only ever raises the bar, so results under the base threshold are skipped here. A miss then
    costs one vector search and no database round trip.
    """

    min_similarity: float = 0.0

    def search(self, embedding_data: Any, **kwargs: Any) -> Any:
        results = super().search(embedding_data, **kwargs)
        if not results:
            return results
        limit = 2.0 * (1.0 - self.min_similarity)  # squared L2 between unit vectors = 2 - 2 cos
        return [r for r in results if float(r[0]) <= limit and int(r[1]) >= 0]
