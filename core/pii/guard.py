"""The last check before text is written to a store (semantic cache, conversation memory).

Everything stored after the PII stage should already be masked. Before writing, the writer runs the
masker over the text once more (`turn.mask`, the conversation's own placeholders): if that changes
anything, the text held a value the first pass missed in this form (a value the model echoed back, a tool
result). Memory then stores the re-masked text; the cache stores nothing. A masker failure stores nothing.
Without the PII stage (`pii` off for the bot) `turn.mask` is the identity and the text is stored as is.
"""

from __future__ import annotations

import structlog

from core.errors import PolicyBlocked
from core.turn import Turn

log = structlog.get_logger("deskmate.pii")


async def masked_for_storage(turn: Turn, text: str, store: str) -> str | None:
    """`text` re-masked for `store` (a name for the log), or None when it must not be stored at all."""
    if not text.strip():
        return text
    try:
        masked = await turn.mask(text)
    except PolicyBlocked:
        log.warning("pii_store_check_failed", store=store, request_id=turn.reply_id)
        return None
    if masked != text:
        turn.facts[f"pii_store_remasked_{store}"] = True
        log.warning("pii_store_remasked", store=store, request_id=turn.reply_id)
    return masked


async def unchanged_by_masking(turn: Turn, *texts: str, store: str) -> bool:
    """True when masking every text again changes none of them (safe to store exactly as they are)."""
    for text in texts:
        if await masked_for_storage(turn, text, store) != text:
            return False
    return True
