"""The composition root: build every part from Settings and set the engine's stage order (here, once)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from bots.profile_loader import load_profiles
from bots.settings import Settings
from core.admin import AdminCommands
from core.cache import open_cache
from core.dispatch import Dispatcher
from core.engine import Engine, LogObserver, Observer, Stage
from core.flags import FeatureFlags
from core.knowledge.build import open_knowledge
from core.knowledge.followup import QueryRewriter
from core.llm.gateway import LiteLLMGateway
from core.memory.stage import MemoryStage
from core.memory.window import ConversationMemory
from core.ops.wiring import open_ops
from core.pii.build import build_pii_stage
from core.profile import BotProfile
from core.prompts import PromptLibrary, builtin_prompts_dir
from core.services import Services
from core.stages.features import FeaturesStage
from core.stages.generate import GenerateStage
from core.stages.input import InputStage
from core.state.redis import open_redis
from core.tools.build import build_tools
from core.tools.search import knowledge_search


@dataclass
class Runtime:
    """Everything a running Deskmate holds; adapters get the parts they need from here."""

    settings: Settings
    redis: aioredis.Redis
    profiles: dict[str, BotProfile]
    prompts: PromptLibrary
    flags: FeatureFlags
    gateway: LiteLLMGateway
    memory: ConversationMemory
    engine: Engine
    dispatcher: Dispatcher
    admin: AdminCommands
    services: Services
    parts: dict[str, Any] = field(default_factory=dict)  # knowledge, cache, tools, metrics...
    exit_stack: AsyncExitStack = field(default_factory=AsyncExitStack)


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
        stack.push_async_callback(knowledge.aclose)
        for collection in sorted({c for p in profiles.values() for c in p.collections}):
            await knowledge.ensure_sample(collection)  # first run: the bundled sample KB, so there is an answer
        retrieval = knowledge.stage(QueryRewriter(gateway, prompts))  # follow-ups searched with their context
        locked = {"pii": True} if settings.pii.locked else {}
        tools = build_tools(settings.tools, redis, settings.data_dir, search=knowledge_search(retrieval))
        stack.push_async_callback(tools.aclose)
        flags = FeatureFlags(redis, locked=locked, extra_features=tools.feature_names())  # + tools.<name>
        parts: dict[str, Any] = {"tools": tools, "knowledge": knowledge}
        ops = await stack.enter_async_context(open_ops(settings, redis, gateway, parts))  # metrics, traces, limits
        parts["ops"] = ops
        observers: list[Observer] = [LogObserver(), *ops.observers]
        # The semantic cache embeds with the retrieval embedder and is scoped by the knowledge-base version.
        cache = await open_cache(settings.cache, settings.data_dir, knowledge.embedder, redis, memory,
                                 knowledge.kb_version, gateway, prompts)  # the gateway verifies candidates
        cache.check_profiles(profiles.values())
        stack.push_async_callback(cache.aclose)
        parts["cache"] = cache
        pii = await build_pii_stage(settings.pii, settings.data_dir, redis, profiles)

        # The engine's stage order — the one place it is set:
        stages: list[Stage] = [
            *ops.stages,  # limits: rate limits + daily budgets (refuse first); record: reply facts for feedback
            InputStage(settings.limits.max_message_chars),  # refuse empty/oversized input before any work
            FeaturesStage(flags),  # effective flags: bot default -> workspace -> channel
            pii,  # mask personal data before anything else sees the text; restore placeholders on the way out
            tools.stage(memory),  # actions: Confirm/Cancel presses on proposed tool calls
            cache.stage(),  # cache: answer from the semantic cache (masked question); store eligible answers after
            MemoryStage(memory),  # conversation window in; the exchange appended on the way out
            retrieval,  # knowledge passages (hybrid BM25 + vector) for the question, with citations
        ]
        terminal = GenerateStage(gateway, prompts, company=settings.company, tools=tools.runner)

        engine = Engine(stages, terminal, profiles, observers=observers)
        dispatcher = ops.dispatcher(engine)  # Redis Stream between receiving and answering (core/ops/queue.py)
        tools.post_follow_ups_via(dispatcher)  # long-running tool results
        admin = AdminCommands(flags)
        admin.add_stats(cache.stats)  # cache hits, misses, hit ratio, hit latency, evictions
        services = Services(engine=engine, dispatcher=dispatcher, admin=admin, flags=flags, redis=redis,
                            access=settings.access,
                            profiles=profiles)
        ops.attach(services)  # extras["feedback"], extras["metrics"], admin stats and `limit`
        runtime = Runtime(settings=settings, redis=redis, profiles=profiles, prompts=prompts, flags=flags,
                          gateway=gateway, memory=memory, engine=engine, dispatcher=dispatcher, admin=admin,
                          services=services, parts=parts, exit_stack=stack)
        gc.freeze()  # start-up objects (models, libraries) leave the GC's view: full collections stop taking ~1 s
        yield runtime
