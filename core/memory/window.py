"""Conversation memory in Redis: a token-budgeted window of masked turns plus a running summary.

Keyed by platform + tenant + conversation (`Inbound.conversation_key`). When the window exceeds its
budget, the oldest turns are folded into the summary by the LLM (or, with no model, into a short
extractive note), under a Redis lock so several workers never fold the same turns twice.

The fold runs in the background, off the user's critical path: `append` stores the new turns and returns,
so the answer's final platform call never waits for a summary model call. A failed fold (model or Redis
down) is logged and tried again on the next append; `settled()` waits for the folds in flight.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.llm.types import Gateway
from core.memory.settings import MemorySettings
from core.prompts import PromptLibrary
from core.state.keys import key

log = structlog.get_logger("deskmate.memory")
SUMMARY_PROMPT = ("memory_summary", "v1")
# Drop one question's exchange (it was edited or deleted) from a window, keeping the order and TTL of the rest.
# While a fold runs (its lock is held) the entries are blanked in place instead, so the fold's LTRIM by count
# still trims exactly what it summarised.
_FORGET = """
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local folding = redis.call('EXISTS', KEYS[2]) == 1
local kept, dropped = {}, 0
for i, item in ipairs(items) do
  local ok, entry = pcall(cjson.decode, item)
  if ok and type(entry) == 'table' and entry['q'] == ARGV[1] and not entry['gone'] then
    dropped = dropped + 1
    if folding then
      redis.call('LSET', KEYS[1], i - 1, cjson.encode({role = entry['role'], content = '', tokens = 0,
                                                         q = ARGV[1], gone = true}))
    end
  else
    kept[#kept + 1] = item
  end
end
if dropped > 0 and not folding then
  local ttl = redis.call('PTTL', KEYS[1])
  redis.call('DEL', KEYS[1])
  for i = 1, #kept, 1000 do redis.call('RPUSH', KEYS[1], unpack(kept, i, math.min(i + 999, #kept))) end
  if ttl > 0 and #kept > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return dropped
"""

def count_tokens(text: str, model: str) -> int:
    import litellm

    return int(litellm.token_counter(model=model, text=text))


class ConversationMemory:
    def __init__(self, redis: aioredis.Redis, settings: MemorySettings, gateway: Gateway, prompts: PromptLibrary,
                 token_model: str = "gpt-4o-mini") -> None:
        self.redis = redis
        self.settings = settings
        self.gateway = gateway
        self.prompts = prompts
        self.token_model = token_model
        self._folds: set[asyncio.Task[None]] = set()
        self._forget = redis.register_script(_FORGET)

    def _keys(self, conversation: str) -> tuple[str, str, str]:
        return key("mem", conversation), key("memsum", conversation), key("memlock", conversation)

    async def load(self, conversation: str, without: str | None = None) -> tuple[str, list[dict[str, Any]]]:
        """(summary, messages) for the conversation, without question `without`'s exchange (an edited question is
        answered as if its earlier version had never been asked); refreshes its idle TTL."""
        turns_key, summary_key, _ = self._keys(conversation)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(turns_key, 0, -1)
            pipe.get(summary_key)
            pipe.expire(turns_key, self.settings.ttl_s)
            pipe.expire(summary_key, self.settings.ttl_s)
            raw_turns, raw_summary, *_ = await pipe.execute()
        messages = [m for m in (json.loads(item) for item in raw_turns)
                    if not m.get("gone") and (not without or m.get("q") != without)]
        summary = json.loads(raw_summary)["text"] if raw_summary else ""
        return summary, [{"role": m["role"], "content": m["content"]} for m in messages]

    async def length(self, conversation: str) -> int:
        """How many messages the window holds (a summary counts as older history too)."""
        turns_key, summary_key, _ = self._keys(conversation)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.llen(turns_key)
            pipe.exists(summary_key)
            count, has_summary = await pipe.execute()
        return int(count) + (2 if has_summary else 0)

    async def append(self, conversation: str, messages: Sequence[dict[str, str]], request_id: str = "",
                     question: str | None = None) -> None:
        """Add masked messages; fold the oldest into the summary when over the token budget. With `question`
        (the platform message they answer), an earlier exchange of that question is replaced: the window holds
        an edited question once, with its latest answer."""
        turns_key, summary_key, _ = self._keys(conversation)
        if question:
            await self.forget(conversation, question)
        tag = {"q": question} if question else {}
        entries = [
            json.dumps({"role": m["role"], "content": m["content"],
                        "tokens": count_tokens(m["content"], self.token_model), **tag})
            for m in messages
        ]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(turns_key, *entries)
            pipe.expire(turns_key, self.settings.ttl_s)
            pipe.expire(summary_key, self.settings.ttl_s)
            pipe.lrange(turns_key, 0, -1)
            pipe.get(summary_key)
            *_, raw_turns, raw_summary = await pipe.execute()
        summary = json.loads(raw_summary) if raw_summary else {"text": "", "tokens": 0}
        total = summary["tokens"] + sum(json.loads(t)["tokens"] for t in raw_turns)
        if total > self.settings.max_tokens:
            task = asyncio.create_task(self._fold_quietly(conversation, request_id), name=f"memory-fold:{request_id}")
            self._folds.add(task)
            task.add_done_callback(self._folds.discard)

    @property
    def folding(self) -> int:
        """Folds in flight in this process."""
        return len(self._folds)

    async def settled(self) -> None:
        """Wait for the summary folds in flight (tests, graceful shutdown)."""
        while self._folds:
            await asyncio.gather(*self._folds, return_exceptions=True)

    async def _fold_quietly(self, conversation: str, request_id: str) -> None:
        try:
            await self._fold(conversation, request_id)
        except Exception as exc:  # nothing is lost: the turns stay in the window and fold next time
            log.warning("memory_fold_failed", request_id=request_id, error=type(exc).__name__)

    async def forget(self, conversation: str, question: str) -> int:
        """Drop question `question`'s exchange (it was edited or deleted); how many messages went. An exchange
        already folded into the summary stays there."""
        turns_key, _, lock_key = self._keys(conversation)
        return int(await self._forget(keys=[turns_key, lock_key], args=[question]))

    async def clear(self, conversation: str) -> None:
        await self.redis.delete(*self._keys(conversation))

    async def _fold(self, conversation: str, request_id: str) -> None:
        turns_key, summary_key, lock_key = self._keys(conversation)
        if not await self.redis.set(lock_key, b"1", nx=True, ex=60):
            return  # another worker is folding this conversation
        try:
            # Read under the lock: a fold that ran meanwhile has trimmed what an older snapshot would fold again.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.lrange(turns_key, 0, -1)
                pipe.get(summary_key)
                raw_turns, raw_summary = await pipe.execute()
            turns = [json.loads(t) for t in raw_turns]
            summary = json.loads(raw_summary) if raw_summary else {"text": "", "tokens": 0}
            if summary["tokens"] + sum(t["tokens"] for t in turns) <= self.settings.max_tokens:
                return
            # Keep the newest turns within half the budget (at least the last exchange); fold the rest.
            keep_budget = self.settings.max_tokens // 2
            kept, used = 0, 0
            for turn in reversed(turns):
                if kept >= 2 and used + turn["tokens"] > keep_budget:
                    break
                kept += 1
                used += turn["tokens"]
            old = turns[: len(turns) - kept]
            if not old:
                return
            real = [t for t in old if not t.get("gone")]  # forgotten (edited, deleted) exchanges are not summarised
            text = await self._summarize(summary["text"], real, request_id) if real else summary["text"]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.ltrim(turns_key, len(old), -1)
                pipe.set(summary_key, json.dumps({"text": text, "tokens": count_tokens(text, self.token_model)}),
                         ex=self.settings.ttl_s)
                await pipe.execute()
            log.info("memory_folded", request_id=request_id, folded=len(old), kept=kept)
        finally:
            await self.redis.delete(lock_key)

    async def _summarize(self, previous: str, old: list[dict[str, Any]], request_id: str) -> str:
        max_words = max(20, self.settings.summary_max_tokens * 3 // 4)
        if self.gateway.available:
            template = self.prompts.get(*SUMMARY_PROMPT)
            messages = [
                {"role": "system", "content": template.render("system", max_words=max_words)},
                {"role": "user", "content": template.render("user", summary=previous, messages=old)},
            ]
            try:
                completion = await self.gateway.complete(
                    messages, max_tokens=self.settings.summary_max_tokens, request_id=request_id, kind="summary")
                if completion.text.strip():
                    return completion.text.strip()
            except Exception as exc:
                log.warning("memory_summary_failed", request_id=request_id, error=type(exc).__name__)
        # No model: keep what the user asked, newest last, within the summary budget.
        questions = [m["content"].strip().replace("\n", " ")[:160] for m in old if m["role"] == "user"]
        note = (previous + " " if previous else "") + "Earlier the user asked: " + "; ".join(questions) + "."
        words = note.split()
        return " ".join(words[-max_words:])
