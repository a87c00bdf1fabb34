"""The composition root: build every part from Settings, by name, and set the engine's stage order (here, once)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from bots.profile_loader import load_profiles
from bots.settings import Settings
from core import translit
from core.admin import AdminCommands
from core.cache import SemanticCache, open_cache
from core.cache.stage import CacheStage
from core.edits.ledger import QuestionLedger
from core.engine import Engine, LogObserver, Stage
from core.flags import FeatureFlags
from core.handoff.build import open_handoff
from core.handoff.desk import HandoffDesk
from core.handoff.stage import HandoffStage
from core.knowledge.build import Knowledge, open_knowledge
from core.knowledge.followup import QueryRewriter
from core.knowledge.gap_views import GapsCommand
from core.knowledge.stage import RetrievalStage
from core.llm.gateway import LiteLLMGateway
from core.memory.stage import MemoryStage
from core.memory.window import ConversationMemory
from core.ops.feedback import RecordStage
from core.ops.health import part_check
from core.ops.limits import LimitsStage
from core.ops.queue import RedisStreamDispatcher
from core.ops.wiring import Ops, OpsSettings, open_ops
from core.pii.build import build_masker
from core.pii.stage import PiiStage
from core.pii.vault import load_or_create_key
from core.profile import BotProfile
from core.prompts import PromptLibrary, builtin_prompts_dir
from core.services import Services
from core.stages.features import FeaturesStage
from core.stages.generate import GenerateStage
from core.stages.input import InputStage
from core.state.redis import open_redis
from core.tools.actions import ActionStage
from core.tools.build import Tools, build_tools
from core.tools.search import knowledge_search


@dataclass
class Runtime:
    """Everything a running Deskmate holds, by name; adapters get the parts they need from `services`."""

    settings: Settings
    redis: aioredis.Redis
    profiles: dict[str, BotProfile]
    prompts: PromptLibrary
    flags: FeatureFlags
    gateway: LiteLLMGateway
    memory: ConversationMemory
    knowledge: Knowledge
    retrieval: RetrievalStage
    cache: SemanticCache
    tools: Tools
    ops: Ops
    handoff: HandoffDesk
    engine: Engine
    dispatcher: RedisStreamDispatcher
    admin: AdminCommands
    services: Services
    exit_stack: AsyncExitStack = field(default_factory=AsyncExitStack)


def build_stages(settings: Settings, *, ops: Ops, flags: FeatureFlags, pii: PiiStage, tools: Tools,
                 memory: ConversationMemory, cache: SemanticCache, retrieval: RetrievalStage,
                 handoff: HandoffDesk) -> list[Stage]:
    """The engine's stage order: the one place it is set. A message passes them top to bottom; the reply's events
    flow back bottom to top. docs/architecture.md shows the same list; tests/test_layering.py pins it."""
    return [
        LimitsStage(ops.limits),  # rate limits and daily budgets: refuse first, before any work
        RecordStage(ops.feedback, ops.metrics),  # the reply's facts (prompt, model, cache...) for feedback on it
        InputStage(settings.limits.max_message_chars),  # refuse empty or oversized input; clean control characters
        FeaturesStage(flags),  # effective flags: bot default -> workspace -> channel
        pii,  # mask personal data before any later stage sees the text; restore placeholders on the way out
        # a person has the conversation: relay it, the bot stays silent; triggers open a handoff
        HandoffStage(handoff, handoff.store.redis, handoff.pii_masks),
        ActionStage(tools.runner, memory),  # Confirm/Cancel presses on proposed tool calls (no model call)
        MemoryStage(memory),  # conversation window in (turn.history); the exchange appended on the way out
        cache,  # (CacheStage) answer a repeated question from the semantic cache; store eligible answers after
        retrieval,  # knowledge passages (hybrid keyword + vector) the audience may read, with citations
    ]  # then the terminal stage: GenerateStage (the model, tools, or the retrieval-only answer)


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Start everything (embedded Redis, models, stores) and close it all cleanly on exit."""
    async with AsyncExitStack() as stack:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        redis = await stack.enter_async_context(open_redis(settings.redis_url, settings.data_dir))
        prompts = PromptLibrary.load(builtin_prompts_dir())
        profiles = load_profiles(settings.profiles_dir)
        for profile in profiles.values():
            prompts.check_profile(profile)
        gateway = LiteLLMGateway(settings.llm, redis)
        stack.push_async_callback(gateway.aclose)
        if gateway.available:
            await gateway.warm_up()  # litellm's slow first-call set-up, off the event loop, before traffic
        chain = settings.llm.chain()
        memory = ConversationMemory(redis, settings.memory, gateway, prompts,
                                    token_model=chain[0].model if chain else "gpt-4o-mini")
        knowledge = await open_knowledge(settings.embeddings, settings.chroma, settings.data_dir, redis)
        await asyncio.to_thread(translit.load)  # Latin-letter Russian's dictionaries, before the first message
        stack.push_async_callback(knowledge.aclose)
        for collection in sorted({c for p in profiles.values() for c in p.collections}):
            await knowledge.ensure_sample(collection)  # first run: the bundled sample KB, so there is an answer
        retrieval = RetrievalStage(knowledge, QueryRewriter(gateway, prompts))  # follow-ups searched in context
        tools = build_tools(settings.tools, redis, settings.data_dir, search=knowledge_search(retrieval))
        stack.push_async_callback(tools.aclose)
        flags = FeatureFlags(redis, locked={"pii": True} if settings.pii.locked else {},
                             extra_features=tools.feature_names())  # + tools.<name>
        # The semantic cache embeds with the retrieval embedder's phrase side (plain USE with use+e5) and is scoped
        # by the knowledge-base version.
        cache = await open_cache(settings.cache, settings.data_dir, knowledge.embedder.phrases, redis,
                                 knowledge.kb_version, gateway, prompts)  # the gateway verifies candidates
        cache.check_profiles(profiles.values())
        stack.push_async_callback(cache.aclose)
        # The PII vault's key: it also seals queued messages and tickets (every worker on one Redis shares it).
        seal_key = load_or_create_key(settings.pii.vault_key.get_secret_value() if settings.pii.vault_key else None,
                                      settings.data_dir)
        ops_settings = OpsSettings(otel=settings.otel, limits=settings.limits, queue=settings.queue,
                                   feedback=settings.feedback, seal_key=seal_key,
                                   spool_dir=settings.data_dir / "spool")  # held while Redis is down
        ops = await stack.enter_async_context(open_ops(redis, ops_settings, gateway, evict=cache.evict_reply))
        # Model calls settled after their answer (the cache judge's breaker, cost and tenant charge) are charged
        # while the limits are still open: waited for before ops closes.
        stack.push_async_callback(gateway.settled)
        stack.push_async_callback(cache.verifier.settled)
        tools.tickets.seal_with(seal_key)  # tickets hold real values (for the helpdesk): encrypted in Redis
        ops.readiness.add("vector_store", part_check(knowledge))
        if gateway.available:
            ops.readiness.add("llm", part_check(gateway))
        pii = PiiStage(await build_masker(settings.pii, seal_key, redis), profiles, locked=settings.pii.locked)
        handoff = await stack.enter_async_context(open_handoff(settings.handoff, redis, profiles, memory=memory,
                                                               tickets=tools.tickets, ops=ops, pii=pii))
        tools.services.handoff = handoff  # escalate_to_human opens a real handoff when an inbox is configured
        handoff.on_opened.append(lambda h: retrieval.gaps.escalated(h.conversation))  # a gap: the answer didn't help

        stages = build_stages(settings, ops=ops, flags=flags, pii=pii, tools=tools, memory=memory,
                              cache=CacheStage(cache), retrieval=retrieval, handoff=handoff)
        terminal = GenerateStage(gateway, prompts, company=settings.company, tools=tools.runner)
        engine = Engine(stages, terminal, profiles, observers=[LogObserver(), *ops.observers], feedback=ops.feedback)
        dispatcher = ops.dispatcher(engine)  # Redis Stream between receiving and answering (core/ops/queue.py)
        tools.post_follow_ups_via(dispatcher.responders)  # long-running tool results
        admin = AdminCommands(flags)
        admin.add_stats(cache.stats)  # cache hits, misses, hit ratio, hit latency, evictions
        admin.add_stats(ops.limits.stats)
        admin.add_stats(ops.feedback.stats)
        admin.add_stats(tools.tickets.stats)  # this tenant's tickets by status
        admin.add_stats(handoff.stats)  # this tenant's handoffs
        admin.add_command("limit", ops.limits.admin_command, "admin_help_limit")  # a text key
        admin.add_command("gaps", GapsCommand(retrieval.gaps, ops.feedback, knowledge.embedder.phrases),
                      "admin_help_gaps")
        services = Services(engine=engine, dispatcher=dispatcher, admin=admin, flags=flags, redis=redis,
                            profiles=profiles, metrics=ops.metrics, access=settings.access, handoff=handoff,
                            edits=QuestionLedger(redis, settings.edits, seal_key, memory))  # edited questions
        runtime = Runtime(settings=settings, redis=redis, profiles=profiles, prompts=prompts, flags=flags,
                          gateway=gateway, memory=memory, knowledge=knowledge, retrieval=retrieval, cache=cache,
                          tools=tools, ops=ops, handoff=handoff, engine=engine, dispatcher=dispatcher, admin=admin,
                          services=services, exit_stack=stack)
        gc.freeze()  # start-up objects (models, libraries) leave the GC's view: full collections stop taking ~1 s
        yield runtime
