"""The semantic cache: scoped GPTCache stores, the question embedding, candidates, verification, eviction, stats.

Scope = platform + tenant + bot (+ its prompt version) + language + audience (what the asker may read) +
knowledge-base version: each scope has its own stores, so a question can only ever be answered from its own
tenant's, bot's, audience's and KB version's answers. A new KB version (re-indexing) starts an empty scope and
deletes the partition's older ones. An entry also keeps the access groups of the passages it was made from and
is never served to an audience that cannot read all of them.

A lookup finds candidates (similarity + same negation and anchors). An exact repeat (after normalising case,
punctuation and whitespace, neither side following earlier turns) is a hit at once; any other candidate is a
hit only when the verifier (core/cache/verifier.py) says yes. With no model configured, only exact repeats hit.
The open scopes' stores (worker thread, LRU, old KB versions dropped) are core/cache/scopes.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from pydantic import ValidationError

from core.cache.deps import check_backends, forbid_runtime_installs
from core.cache.match import PLACEHOLDER, MatchRules, normalize, placeholder_reason
from core.cache.scopes import ScopeStores
from core.cache.settings import BotCacheOptions, CacheSettings
from core.cache.stats import CacheStats
from core.cache.store import Entry, Hit, Scope, ScopeStore, for_verifier
from core.cache.verifier import Asked, NoVerifier, Verifier
from core.errors import ConfigError
from core.knowledge.embeddings import Embedder
from core.llm.gateway import LiteLLMGateway
from core.models import Final
from core.profile import BotProfile
from core.prompts import PromptLibrary
from core.stages.answer_checks import uncacheable_reason
from core.state.keys import key
from core.turn import Turn

log = structlog.get_logger("deskmate.cache")
KbVersion = Callable[[str, Sequence[str]], Awaitable[str]]
SUMMARY = "(summary of older messages) "


@dataclass
class Lookup:
    scope: Scope
    asked: Asked  # the masked question and the earlier user turns it follows
    vector: list[float] | None  # what is stored: the question's vector, or (after earlier turns) with context
    hit: Hit | None  # decided: an exact repeat, or (after `verify`) the candidate the verifier accepted
    candidates: list[Hit]  # for the verifier: near, same negation and anchors, readable by this audience
    started: float
    verified: tuple[str, ...] = ()  # the verifier's outcomes, counted with the decision (not before it)

    @property
    def question(self) -> str:
        return self.asked.text

    @property
    def needs_verifier(self) -> bool:
        return self.hit is None and bool(self.candidates)


def search_texts(asked: Asked) -> list[str]:
    """What is embedded: the question; after earlier turns also the question as they make it (stored so)."""
    if not asked.context:
        return [asked.text]
    return [asked.text, " ".join([*asked.context[-2:], asked.text])]


def exact_repeat(asked: Asked, candidate: Hit) -> bool:
    """Served without the verifier: the same text after normalisation, neither side after earlier turns, and no
    placeholders (`<PERSON_1>` is a different person in each conversation: only the verifier may decide)."""
    return (not asked.context and not candidate.entry.context and not PLACEHOLDER.search(asked.text)
            and normalize(candidate.question) == normalize(asked.text))


class SemanticCache:
    def __init__(self, settings: CacheSettings, root: Path, embedder: Embedder, redis: aioredis.Redis,
                 kb_version: KbVersion, verifier: Verifier | None = None) -> None:
        self.settings = settings
        self.verifier: Verifier = verifier or NoVerifier()
        self.root = root
        self.embedder = embedder
        self.redis = redis
        self.kb_version = kb_version
        self.stores = ScopeStores(settings, root, self._dim)  # the open scopes' stores and their worker thread
        self._options: dict[str, BotCacheOptions] = {}
        self.numbers = CacheStats(redis)
        self.counters = self.numbers.counters  # in-process, for the metrics exporter
        self.hit_latencies = self.numbers.hit_latencies

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
        return Scope(inbound.platform, inbound.tenant, bot, turn.language, version or "-", inbound.audience.key)

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
        reason = placeholder_reason(text, bool(turn.history or turn.summary), self.verifier.available)
        if reason is not None:
            return reason
        if options.followups == "strict" and (turn.history or turn.summary):  # loaded by the memory stage
            return "followup"
        return None

    async def _context(self, turn: Turn) -> tuple[str, ...]:
        """The earlier user turns of this conversation (masked, as the memory stage loaded them), oldest first."""
        limit = self.settings.context_turns
        summary, history = turn.summary, turn.history
        users = [str(m.get("content", "")) for m in history if m.get("role") == "user" and m.get("content")]
        context = users[-limit:] if limit else []
        if summary and limit:
            context = [SUMMARY + summary, *context][-limit:]
        return tuple(context)

    def _exact_key(self, scope: Scope) -> str:
        return key("cache", "exact", scope.name)

    async def exact(self, turn: Turn) -> Lookup:
        """The scope, the question with its earlier turns, and an exact repeat if there is one: normalised text
        -> entry id in Redis, the row read back and checked (alive, unexpired, same text, no earlier turns)."""
        t0 = time.perf_counter()
        scope = await self.scope(turn)
        asked = Asked(turn.text.strip(), await self._context(turn))
        lookup = Lookup(scope=scope, asked=asked, vector=None, hit=None, candidates=[], started=t0)
        if asked.context or PLACEHOLDER.search(asked.text) or not normalize(asked.text):  # "????": never exact
            return lookup
        raw = await self.redis.hget(self._exact_key(scope), normalize(asked.text))
        if raw is None:
            return lookup
        ttl = self.options(turn.profile).ttl_s or self.settings.ttl_s

        found = await self.stores.read(scope, lambda store: store.by_id(int(raw), ttl))
        if found is not None and exact_repeat(asked, found) and turn.inbound.audience.may_read_all(found.entry.groups):
            lookup.hit = found
        return lookup

    async def find(self, turn: Turn, lookup: Lookup) -> None:
        """Candidates for the verifier: embed, search the scope, apply the second check and the audience."""
        asked, scope, t0 = lookup.asked, lookup.scope, time.perf_counter()
        vectors = await self.embedder.embed(search_texts(asked))
        lookup.vector = vectors[-1]
        turn.facts["cache_embed_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        if not self.verifier.available:
            return  # nothing but exact repeats is ever served: the vector is only needed to store the answer
        ttl = self.options(turn.profile).ttl_s or self.settings.ttl_s

        def search(store: ScopeStore) -> tuple[list[Hit], int]:
            found = store.candidates(asked.text, vectors, self.rules(turn.profile), ttl)
            evicted, store.evicted = store.evicted, 0
            return found, evicted

        t0 = time.perf_counter()
        found, evicted = await self.stores.read(scope, search)
        turn.facts["cache_search_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        readable = [c for c in found if turn.inbound.audience.may_read_all(c.entry.groups)]
        if len(readable) < len(found):
            turn.facts["cache_unreadable"] = len(found) - len(readable)
        if evicted:
            await self.numbers.count(scope, evictions=evicted)
        lookup.candidates = for_verifier(readable, self.settings)
        turn.facts["cache_candidates"] = len(lookup.candidates)

    async def verify(self, turn: Turn, lookup: Lookup) -> Hit | None:
        """Ask the verifier about each candidate (concurrently); the nearest one it says yes to is the hit."""
        t0 = time.perf_counter()
        asks = [self.verifier.judge(Asked(c.question, tuple(c.entry.context)), lookup.asked, turn.reply_id)
                for c in lookup.candidates]
        # One candidate (the usual case) is awaited as it is: a gather's tasks cost the hit two loop turns.
        judgements = [await asks[0]] if len(asks) == 1 else await asyncio.gather(*asks)
        events = []
        for judgement in judgements:
            events.append("verify_memo" if judgement.memoised else f"verify_{judgement.outcome}")
        turn.facts["cache_verify"] = ",".join(j.outcome for j in judgements)
        turn.facts["cache_verify_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        lookup.verified = tuple(events)  # counted in `decided`: a user waits on the hit, not on the counters
        lookup.hit = next((c for c, j in zip(lookup.candidates, judgements, strict=True) if j.same), None)
        return lookup.hit

    async def decided(self, turn: Turn, lookup: Lookup) -> None:
        """Count the lookup's outcome (after verification) and remember a hit's entry for thumbs-down."""
        hit = lookup.hit
        seconds = time.perf_counter() - lookup.started
        await self.numbers.count(lookup.scope, "hits" if hit else "misses", *lookup.verified,
                                 hit_s=seconds if hit else None)
        if hit is not None:
            ttl = self.options(turn.profile).ttl_s or self.settings.ttl_s
            await self._remember_reply(turn.reply_id, lookup.scope, hit.entry_id, hit.entry.reply_id, ttl)
            turn.facts["cache_similarity"] = round(hit.similarity, 4)

    @staticmethod
    def store_skip_reason(turn: Turn, final: Final | None) -> str | None:
        if final is None:
            return "no_answer"
        if turn.used_tools or final.used_tools or turn.awaiting_confirmation:
            return "tools"
        if turn.retrieval_only or final.retrieval_only:
            return "retrieval_only"
        if turn.pii_restored:
            return "personal_data"
        if any("access" not in p.metadata for p in turn.passages):
            return "access_unknown"  # fail closed: an answer whose sources' readers are unknown is never shared
        if not final.text.strip():
            return "empty"
        if PLACEHOLDER.search(final.text):
            return "personal_data"
        if PLACEHOLDER.search(turn.text) and any(PLACEHOLDER.search(p.text) for p in turn.passages):
            return "personal_data"  # a passage said something about someone masked: that answer is personal
        return uncacheable_reason(turn, final)

    async def store(self, lookup: Lookup, turn: Turn, final: Final) -> int:
        vector = lookup.vector
        if vector is None:
            raise ValueError("no question vector to store the answer with")
        # Every passage the model was shown, cited or not, could have shaped the answer: keep all their groups.
        groups = sorted({str(p.metadata["access"]) for p in turn.passages} - {"*"})
        entry = Entry(
            text=final.text, citations=[c.model_dump() for c in final.citations], model=final.model,
            prompt_name=final.prompt_name, prompt_version=final.prompt_version, reply_id=final.reply_id,
            groups=groups, context=list(lookup.asked.context),
        )

        def put() -> tuple[int, int]:
            store = self.stores.open(lookup.scope, current=True)
            entry_id = store.insert(lookup.question, vector, entry)
            evicted, store.evicted = store.evicted, 0
            return entry_id, evicted

        entry_id, evicted = await self.stores.run(put)
        ttl = self.options(turn.profile).ttl_s or self.settings.ttl_s
        await self._remember_reply(final.reply_id, lookup.scope, entry_id, final.reply_id, ttl)
        if not lookup.asked.context and not PLACEHOLDER.search(lookup.question) and normalize(lookup.question):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hset(self._exact_key(lookup.scope), normalize(lookup.question), entry_id)
                pipe.expire(self._exact_key(lookup.scope), ttl)
                await pipe.execute()
        await self.numbers.count(lookup.scope, "stores", evictions=evicted)
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
            store = self.stores.open(scope, current=False)
            return store.delete_if_origin(int(ref["id"]), ref["origin"])

        removed = await self.stores.run(remove)
        await self.redis.delete(key("cache", "reply", reply_id))
        if removed:
            await self.numbers.count(scope, "evictions_feedback", evictions=removed)
            log.info("cache_evicted_by_feedback", request_id=reply_id, tenant=scope.tenant, bot=scope.bot)
        return bool(removed)

    async def _remember_reply(self, reply_id: str, scope: Scope, entry_id: int, origin: str, ttl: int) -> None:
        ref = json.dumps({"scope": scope.to_json(), "id": entry_id, "origin": origin})
        await self.redis.set(key("cache", "reply", reply_id), ref, ex=ttl)

    async def record_skip(self, turn: Turn, reason: str) -> None:
        await self.numbers.skip(turn.inbound.platform, turn.inbound.tenant, reason)

    async def stats(self, platform: str, tenant: str) -> dict[str, object]:
        """Admin `stats` source: this tenant's cache numbers across all workers."""
        return await self.numbers.report(platform, tenant)

    async def aclose(self) -> None:
        await self.stores.aclose()
        await self.verifier.aclose()


async def open_cache(settings: CacheSettings, data_dir: Path, embedder: Embedder, redis: aioredis.Redis,
                     kb_version: KbVersion, gateway: LiteLLMGateway | None = None,
                     prompts: PromptLibrary | None = None) -> SemanticCache:
    """Check the configured stores' packages (never installed at run time) and return the cache.

    `gateway`: the model that verifies candidates (or `settings.judge_model` on its own gateway); without one
    only exact repeats are served."""
    forbid_runtime_installs()
    check_backends(settings)
    root = data_dir / "cache"
    root.mkdir(parents=True, exist_ok=True)
    warm = getattr(embedder, "warm", None)
    if warm is not None:  # load the local model now, not during the first user's question
        await warm()
    from core.cache.verifier import build_verifier
    from core.prompts import builtin_prompts_dir

    library = prompts or PromptLibrary.load(builtin_prompts_dir())
    verifier = build_verifier(gateway, library, redis, settings)
    return SemanticCache(settings, root, embedder, redis, kb_version, verifier)
