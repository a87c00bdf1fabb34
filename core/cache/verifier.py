"""The semantic cache's verifier: does a stored answer also answer the new question? (the model decides)

Embeddings cannot tell "enable dark mode" from "disable dark mode" (cosine ~0.97), so a candidate found by
similarity is served only when a verifier says yes. `ModelVerifier` asks the configured model (or the cheaper
`cache.judge_model`) through the gateway with the versioned `prompts/cache_judge` template; the first word of
the reply must be exactly "yes" (anything else, an error or a timeout is "no"). Judgements are memoised in
Redis per question pair (masked text + earlier turns, judge model and prompt version), for the cache's TTL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Literal, Protocol

import redis.asyncio as aioredis
import structlog

from core.background import Background
from core.cache.settings import CacheSettings
from core.llm.gateway import LiteLLMGateway
from core.prompts import PromptLibrary
from core.state.keys import key

log = structlog.get_logger("deskmate.cache")
Outcome = Literal["yes", "no", "error", "timeout"]
FIRST_WORD = re.compile(r"[^\W_]+", re.UNICODE)
JUDGE_PROMPT = "cache_judge"


@dataclass(frozen=True)
class Asked:
    """A masked question and the earlier user turns of its conversation (oldest first; empty = none)."""

    text: str
    context: tuple[str, ...] = ()

    def digest(self) -> str:
        raw = json.dumps([self.text, list(self.context)], ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Judgement:
    outcome: Outcome
    memoised: bool = False

    @property
    def same(self) -> bool:
        return self.outcome == "yes"


class Verifier(Protocol):
    """Decides whether the answer stored for `stored` also answers `query`."""

    @property
    def available(self) -> bool: ...

    async def judge(self, stored: Asked, query: Asked, request_id: str = "") -> Judgement: ...

    async def settled(self) -> None: ...

    async def aclose(self) -> None: ...


def first_word_yes(reply: str) -> bool:
    """The verifier's protocol: the first word is exactly "yes" (case-insensitive); anything else is no."""
    match = FIRST_WORD.match(reply.lstrip(" \t\r\n\"'*`_"))
    return match is not None and match.group(0).lower() == "yes"


class NoVerifier:
    """No model configured: nothing but exact repeats is ever served."""

    available = False

    async def judge(self, stored: Asked, query: Asked, request_id: str = "") -> Judgement:
        return Judgement("no")

    async def settled(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class ModelVerifier:
    def __init__(self, gateway: LiteLLMGateway, prompts: PromptLibrary, redis: aioredis.Redis, *, model_name: str,
                 prompt_version: str = "v1", timeout_s: float = 5.0, memo_ttl_s: int = 7 * 86_400,
                 owns_gateway: bool = False) -> None:
        self.gateway = gateway
        self.owns_gateway = owns_gateway
        self.template = prompts.get(JUDGE_PROMPT, prompt_version)
        self.redis = redis
        self.model_name = model_name
        self.timeout_s = timeout_s
        self.memo_ttl_s = memo_ttl_s
        self._remembering = Background()  # the memo is written after the decision: the user does not wait on it

    @property
    def available(self) -> bool:
        return self.gateway.available

    async def settled(self) -> None:
        """Wait for the memos and the judge calls' bookkeeping (breaker, cost, the tenant's charge) so far."""
        await self._remembering.drain()
        await self.gateway.settled()

    async def aclose(self) -> None:
        await self.settled()
        if self.owns_gateway:
            await self.gateway.aclose()

    def _memo_key(self, stored: Asked, query: Asked) -> str:
        raw = "\0".join((self.model_name, self.template.version, stored.digest(), query.digest()))
        return key("cache", "judge", hashlib.sha256(raw.encode()).hexdigest()[:32])

    def messages(self, stored: Asked, query: Asked) -> list[dict[str, str]]:
        values = {"question_a": stored.text, "context_a": list(stored.context),
                  "question_b": query.text, "context_b": list(query.context)}
        return [{"role": "system", "content": self.template.render("system")},
                {"role": "user", "content": self.template.render("user", **values)}]

    async def judge(self, stored: Asked, query: Asked, request_id: str = "") -> Judgement:
        memo = self._memo_key(stored, query)
        try:
            known = await self.redis.get(memo)
        except Exception as exc:  # a memo we cannot read is a memo we do not have
            log.warning("cache_judge_memo_failed", request_id=request_id, error=type(exc).__name__)
            known = None
        if known is not None:
            return Judgement("yes" if known in (b"1", "1") else "no", memoised=True)
        try:
            async with asyncio.timeout(self.timeout_s):
                # A user waits on the decision: one direct attempt per model (no Router, no retries), the
                # bookkeeping after the answer has started.
                completion = await self.gateway.complete(self.messages(stored, query), max_tokens=3,
                                                         request_id=request_id, kind="cache_judge",
                                                         settle_later=True, direct=True)
        except TimeoutError:
            log.info("cache_judge_timeout", request_id=request_id, timeout_s=self.timeout_s)
            return Judgement("timeout")
        except Exception as exc:  # the cache is an optimisation: a failed judgement is a miss
            log.info("cache_judge_failed", request_id=request_id, error=type(exc).__name__)
            return Judgement("error")
        same = first_word_yes(completion.text or "")
        self._remembering.spawn(self._remember(memo, same, request_id), name="cache-judge-memo")
        return Judgement("yes" if same else "no")

    async def _remember(self, memo: str, same: bool, request_id: str) -> None:
        try:
            await self.redis.set(memo, "1" if same else "0", ex=self.memo_ttl_s)
        except Exception as exc:
            log.warning("cache_judge_memo_failed", request_id=request_id, error=type(exc).__name__)


def build_verifier(gateway: LiteLLMGateway | None, prompts: PromptLibrary, redis: aioredis.Redis,
                   settings: CacheSettings) -> Verifier:
    """The main gateway's model chain judges, unless `judge_model` names a cheaper model (its own gateway,
    on `judge_api_base`/`judge_api_key`, else the main chain's first endpoint's)."""
    common = {"prompt_version": settings.judge_prompt_version, "timeout_s": settings.judge_timeout_s,
              "memo_ttl_s": settings.ttl_s}
    if gateway is None:
        return NoVerifier()
    if settings.judge_model:
        from core.llm.settings import LLMSettings, ModelEndpoint

        main = gateway.settings.chain()
        api_base = settings.judge_api_base or (main[0].api_base if main else None)
        api_key = settings.judge_api_key or (main[0].api_key if main else None)
        endpoint = ModelEndpoint(model=settings.judge_model, api_base=api_base, api_key=api_key)
        judge = LiteLLMGateway(LLMSettings(models=[endpoint], timeout_s=settings.judge_timeout_s,
                                           first_token_timeout_s=settings.judge_timeout_s, num_retries=0,
                                           temperature=0.0, max_tokens=3), redis)
        return ModelVerifier(judge, prompts, redis, model_name=settings.judge_model, owns_gateway=True, **common)
    if not gateway.available:
        return NoVerifier()
    return ModelVerifier(gateway, prompts, redis, model_name=",".join(gateway.models), **common)
