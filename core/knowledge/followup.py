"""The search query for a message in a conversation: a follow-up ("and on Windows?") is searched together
with what it follows.

A message that reads as a follow-up (short, starts with "and"/"what about"/"а"/"и"…, or leans on
"it"/"this"/"это"…) is rewritten; a self-contained one is searched as written (no extra model call).
With a model configured, the model rewrites the follow-up into a standalone query from the last turns
(prompt `query_rewrite`, through the gateway's `complete`); its answer is used only if it looks like a query.
Without one, or if the call fails, it is searched as the previous user message followed by this one.
Everything here is already masked (it runs inside the PII stage).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from core.llm.types import Gateway
from core.prompts import PromptLibrary

log = structlog.get_logger("deskmate.retrieval")

REWRITE_PROMPT = ("query_rewrite", "v1")
HISTORY_TURNS = 4  # the last messages shown to the model
SHORT_WORDS = 6  # a message this short, after a conversation, is taken as a follow-up
PREVIOUS_CHARS = 300

_WORD = re.compile(r"\w+", re.UNICODE)
_OPENERS = re.compile(
    r"^\s*(and|also|or|but|what about|how about|what if|same|then|so|ok|okay|и|а|ещё|еще|а если|а как|"
    r"а что|то же|тоже|также|или|но|так|ладно)\b", re.IGNORECASE | re.UNICODE)
_ANAPHORA = re.compile(
    r"\b(it|its|this|that|these|those|they|them|there|one|same|он|она|оно|они|его|её|ее|их|это|этот|эта|"
    r"эти|этого|этой|там|туда|тот|та|те|такой)\b", re.IGNORECASE | re.UNICODE)
ANAPHORA_WORDS = 12


def last_user_messages(history: Sequence[Mapping[str, Any]], n: int = 1) -> list[str]:
    texts = [str(m.get("content") or "") for m in history if m.get("role") == "user"]
    return [t for t in texts if t.strip()][-n:]


def is_follow_up(text: str) -> bool:
    words = _WORD.findall(text)
    if not words:
        return False
    return (len(words) <= SHORT_WORDS or bool(_OPENERS.match(text))
            or (len(words) <= ANAPHORA_WORDS and bool(_ANAPHORA.search(text))))


def fallback_query(text: str, history: Sequence[Mapping[str, Any]]) -> str:
    """The previous user message + this one when this one reads as a follow-up; else this one."""
    previous = last_user_messages(history)
    if not previous or not is_follow_up(text):
        return text
    return f"{previous[0].strip()[:PREVIOUS_CHARS]} {text.strip()}"


class QueryRewriter:
    def __init__(self, gateway: Gateway | None = None, prompts: PromptLibrary | None = None,
                 max_tokens: int = 60) -> None:
        self.gateway = gateway
        self.prompts = prompts
        self.max_tokens = max_tokens

    @property
    def uses_model(self) -> bool:
        return bool(self.gateway is not None and self.gateway.available and self.prompts is not None
                    and REWRITE_PROMPT in self.prompts.templates)

    async def query(self, text: str, history: Sequence[Mapping[str, Any]], summary: str = "",
                    request_id: str = "", mode: str = "model") -> tuple[str, str]:
        """(query, how): how is "as_is", "model" or "fallback". mode: "model" (rules without one), "rules", "off"."""
        if mode == "off" or not last_user_messages(history) or not is_follow_up(text):
            return text, "as_is"  # a first or self-contained message is searched as written: no extra model call
        if mode == "model" and self.uses_model:
            assert self.gateway is not None and self.prompts is not None
            template = self.prompts.get(*REWRITE_PROMPT)
            recent = [{"role": m.get("role"), "content": str(m.get("content") or "")[:600]}
                      for m in history[-HISTORY_TURNS:]]
            messages = [{"role": "system", "content": template.render("system")},
                        {"role": "user", "content": template.render("user", summary=summary, messages=recent,
                                                                    question=text)}]
            try:
                completion = await self.gateway.complete(messages, max_tokens=self.max_tokens, request_id=request_id,
                                                          kind="followup")
                rewritten = completion.text.strip().strip('"').strip()
                if rewritten and "\n" not in rewritten and len(rewritten) <= 4 * len(text) + 300:
                    return rewritten, "model"
            except Exception as exc:  # the fallback below still searches well
                log.warning("query_rewrite_failed", request_id=request_id, error=type(exc).__name__)
        query = fallback_query(text, history)
        return query, "fallback" if query != text else "as_is"
