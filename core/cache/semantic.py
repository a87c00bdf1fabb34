"""The semantic cache: scoped GPTCache stores, the question embedding, eligibility, eviction and stats.

Scope = platform + tenant + bot (+ its prompt version) + language + knowledge-base version: each scope has
its own stores, so a question can only ever be answered from its own tenant's, bot's and KB version's answers.
A new KB version (re-indexing) starts an empty scope and deletes the partition's older ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as aioredis
import structlog
from pydantic import ValidationError

from core.cache.deps import check_backends, forbid_runtime_installs
from core.cache.match import PLACEHOLDER, MatchRules, looks_like_followup
from core.cache.settings import BotCacheOptions, CacheSettings
from core.cache.store import Entry, Hit, Scope, ScopeStore
from core.errors import ConfigError
from core.knowledge.embeddings import Embedder
from core.memory.window import ConversationMemory
from core.models import Final
from core.profile import BotProfile
from core.prompts import PromptLibrary
from core.state.keys import key
from core.turn import Turn

log = structlog.get_logger("deskmate.cache")
KbVersion = Callable[[str, Sequence[str]], Awaitable[str]]
T = TypeVar("T")
LATENCY_SAMPLES = 500


@dataclass
class Lookup:
    scope: Scope
    question: str
    vector: list[float]
    hit: Hit | None
    seconds: float


class SemanticCache:
    def __init__(self, settings: CacheSettings, root: Path, embedder: Embedder, redis: aioredis.Redis,
                 memory: ConversationMemory, kb_version: KbVersion) -> None:
        self.settings = settings
        self.root = root
        self.embedder = embedder
        self.redis = redis
        self.memory = memory
        self.kb_version = kb_version
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskmate-cache")
        self._scopes: OrderedDict[Scope, ScopeStore] = OrderedDict()
        self._options: dict[str, BotCacheOptions] = {}
        # In-process counters for the metrics exporter (the per-tenant numbers for `stats` are in Redis).
        self.counters: Counter[str] = Counter()
        self.hit_latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)

    # -- plumbing -------------------------------------------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _open(self, scope: Scope, current: bool) -> ScopeStore:
        """The scope's store (worker thread). `current`: also drop the partition's other KB versions."""
        store = self._scopes.get(scope)
        if store is None:
            if current:
                self._drop_old_versions(scope)
            store = ScopeStore(scope, self.settings, self._dim(), self.root)
            self._scopes[scope] = store
            while len(self._scopes) > self.settings.max_open_scopes:
                _, oldest = self._scopes.popitem(last=False)
                oldest.close()
        self._scopes.move_to_end(scope)
        return store

    def _drop_old_versions(self, scope: Scope) -> None:
        for other in [s for s in self._scopes if s.partition == scope.partition and s != scope]:
            self._scopes.pop(other).drop()
            log.info("cache_scope_invalidated", platform=other.platform, tenant=other.tenant, bot=other.bot)
        partition_dir = self.root / scope.partition
        if self.settings.scalar_url is None and partition_dir.is_dir():
            import shutil

            for child in partition_dir.iterdir():
                if child.is_dir() and child.name != scope.version:
                    shutil.rmtree(child, ignore_errors=True)
                    log.info("cache_scope_invalidated", platform=scope.platform, tenant=scope.tenant, bot=scope.bot)

    def _dim(self) -> int:
        if not self.embedder.dim:
            raise ConfigError("the embedding model's dimension is unknown; set DESKMATE_EMBEDDINGS__DIM")
        return self.embedder.dim

    def options(self, profile: BotProfile) -> BotCacheOptions:
        found = self._options.get(profile.name)
        if found is None:
            try:
                found = BotCacheOptions.model_validate(profile.cache)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ConfigError(f"bot profile {profile.name!r}, section cache: {problems}") from None
            self._options[profile.name] = found
        return found

    def check_profiles(self, profiles: Iterable[BotProfile]) -> None:
        """Validate every profile's `cache:` section at start-up (a ConfigError names the problem)."""
        for profile in profiles:
            self.options(profile)

    def rules(self, profile: BotProfile) -> MatchRules:
        s = self.settings
        return MatchRules(threshold=self.options(profile).threshold or s.threshold, short_words=s.short_words,
                          short_margin=s.short_margin, substitution_margin=s.substitution_margin)

    async def scope(self, turn: Turn) -> Scope:
        inbound = turn.inbound
        version = await self.kb_version(inbound.tenant, turn.profile.collections)
        turn.kb_version = turn.kb_version or version
        # The prompt (and its A/B variant for this user, chosen exactly as the generate stage does) is part of
        # the scope: an answer made with one prompt version is never served to users of another.
        prompt_version = PromptLibrary.select_version(turn.profile, f"{inbound.platform}:{inbound.user}")
        bot = f"{turn.profile.name}:{turn.profile.prompt}:{prompt_version}"
        return Scope(inbound.platform, inbound.tenant, bot, turn.language, version or "-")

    # -- the stage's calls ----------------------------------------------------------------------------------
    async def skip_reason(self, turn: Turn) -> str | None:
        """Why this question must not be looked up (nor stored), or None."""
        inbound = turn.inbound
        options = self.options(turn.profile)
        if not turn.enabled("cache"):
            return "off"
        if inbound.action is not None or inbound.attachments:
            return "not_text"
        text = turn.text.strip()
        if len(text) < options.min_chars:
            return "short"
        if PLACEHOLDER.search(text):
            return "personal_data"  # placeholders are numbered per conversation: never shared
        history = await self.memory.length(inbound.conversation_key)
        if history and (options.followups == "strict" or looks_like_followup(text)):
            return "followup"
        return None

    async def lookup(self, turn: Turn) -> Lookup:
        t0 = time.perf_counter()
        scope = await self.scope(turn)
        question = turn.text.strip()
        vector = (await self.embedder.embed([question]))[0]
        options = self.options(turn.profile)
        ttl = options.ttl_s or self.settings.ttl_s

        def find() -> tuple[Hit | None, int]:
            store = self._open(scope, current=True)
            hit = store.lookup(question, vector, self.rules(turn.profile), ttl)
            evicted, store.evicted = store.evicted, 0
            return hit, evicted

        hit, evicted = await self._run(find)
        seconds = time.perf_counter() - t0
        await self._count(scope, "hits" if hit else "misses", evictions=evicted, hit_s=seconds if hit else None)
        if hit is not None:
            await self._remember_reply(turn.reply_id, scope, hit.entry_id, hit.entry.reply_id, ttl)
            turn.facts["cache_similarity"] = round(hit.similarity, 4)
        return Lookup(scope=scope, question=question, vector=vector, hit=hit, seconds=seconds)

    @staticmethod
    def store_skip_reason(turn: Turn, final: Final | None) -> str | None:
        if final is None:
            return "no_answer"
        if turn.used_tools or final.used_tools or turn.facts.get("tools_pending"):
            return "tools"
        if turn.retrieval_only or final.retrieval_only:
            return "retrieval_only"
        if turn.facts.get("pii_restored"):
            return "personal_data"
        if not final.text.strip():
            return "empty"
        if PLACEHOLDER.search(final.text):
            return "personal_data"
        return None

    async def store(self, lookup: Lookup, turn: Turn, final: Final) -> int:
        entry = Entry(
            text=final.text, citations=[c.model_dump() for c in final.citations], model=final.model,
            prompt_name=final.prompt_name, prompt_version=final.prompt_version, reply_id=final.reply_id,
        )

        def put() -> tuple[int, int]:
            store = self._open(lookup.scope, current=True)
            entry_id = store.insert(lookup.question, lookup.vector, entry)
            evicted, store.evicted = store.evicted, 0
            return entry_id, evicted

        entry_id, evicted = await self._run(put)
        ttl = self.options(turn.profile).ttl_s or self.settings.ttl_s
        await self._remember_reply(final.reply_id, lookup.scope, entry_id, final.reply_id, ttl)
        await self._count(lookup.scope, "stores", evictions=evicted)
        return entry_id

    async def evict_reply(self, reply_id: str) -> bool:
        """Thumbs-down on a cached (or cache-stored) reply: remove its answer from the cache. True if removed."""
        raw = await self.redis.get(key("cache", "reply", reply_id))
        if raw is None:
            return False
        ref = json.loads(raw)
        scope = Scope.from_json(ref["scope"])

        def remove() -> int:
            if self.settings.scalar_url is None and not (self.root / scope.partition / scope.version).is_dir():
                return 0  # invalidated since (KB re-indexed)
            store = self._open(scope, current=False)
            return store.delete_if_origin(int(ref["id"]), ref["origin"])

        removed = await self._run(remove)
        await self.redis.delete(key("cache", "reply", reply_id))
        if removed:
            await self._count(scope, "evictions_feedback", evictions=removed)
            log.info("cache_evicted_by_feedback", request_id=reply_id, tenant=scope.tenant, bot=scope.bot)
        return bool(removed)

    async def _remember_reply(self, reply_id: str, scope: Scope, entry_id: int, origin: str, ttl: int) -> None:
        ref = json.dumps({"scope": scope.to_json(), "id": entry_id, "origin": origin})
        await self.redis.set(key("cache", "reply", reply_id), ref, ex=ttl)

    async def record_skip(self, turn: Turn, reason: str) -> None:
        self.counters[f"skip:{reason}"] += 1
        await self.redis.hincrby(key("cache", "stats", turn.inbound.platform, turn.inbound.tenant), "skips", 1)

    async def _count(self, scope: Scope, event: str, evictions: int = 0, hit_s: float | None = None) -> None:
        self.counters[event] += 1
        self.counters["evictions"] += evictions
        stats_key = key("cache", "stats", scope.platform, scope.tenant)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(stats_key, event, 1)
            if evictions:
                pipe.hincrby(stats_key, "evictions", evictions)
            if hit_s is not None:
                self.hit_latencies.append(hit_s)
                lat_key = key("cache", "hitms", scope.platform, scope.tenant)
                pipe.lpush(lat_key, round(hit_s * 1000, 3))
                pipe.ltrim(lat_key, 0, LATENCY_SAMPLES - 1)
            await pipe.execute()

    async def stats(self, platform: str, tenant: str) -> dict[str, object]:
        """Admin `stats` source: this tenant's cache numbers across all workers."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key("cache", "stats", platform, tenant))
            pipe.lrange(key("cache", "hitms", platform, tenant), 0, -1)
            raw, lat = await pipe.execute()
        counts = {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in raw.items()}
        hits, misses = counts.get("hits", 0), counts.get("misses", 0)
        latencies = sorted(float(x) for x in lat)
        out: dict[str, object] = {
            "stat_cache_hits": hits, "stat_cache_misses": misses,  # text keys: shown in the reader's language
            "stat_cache_hit_ratio": f"{hits / (hits + misses):.1%}" if hits + misses else "stat_none",
            "stat_cache_stored": counts.get("stores", 0),
            "stat_cache_evictions": counts.get("evictions", 0),
            "stat_cache_skipped": counts.get("skips", 0),
        }
        if latencies:
            out["stat_cache_latency_p50"] = f"{_pct(latencies, 0.5):.1f} ms"
            out["stat_cache_latency_p95"] = f"{_pct(latencies, 0.95):.1f} ms"
        return out

    def stage(self) -> Any:
        from core.cache.stage import CacheStage

        return CacheStage(self)

    async def aclose(self) -> None:
        def close_all() -> None:
            while self._scopes:
                _, store = self._scopes.popitem()
                store.close()

        await self._run(close_all)
        self._executor.shutdown(wait=True)


def _pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


async def open_cache(settings: CacheSettings, data_dir: Path, embedder: Embedder, redis: aioredis.Redis,
                     memory: ConversationMemory, kb_version: KbVersion) -> SemanticCache:
    """Check the configured stores' packages (never installed at run time) and return the cache."""
    forbid_runtime_installs()
    check_backends(settings)
    root = data_dir / "cache"
    root.mkdir(parents=True, exist_ok=True)
    warm = getattr(embedder, "warm", None)
    if warm is not None:  # load the local model now, not during the first user's question
        await warm()
    return SemanticCache(settings, root, embedder, redis, memory, kb_version)
