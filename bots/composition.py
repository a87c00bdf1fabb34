"""The composition root: build every part from Settings and set the engine's stage order (here, once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from bots.profile_loader import load_profiles
from bots.settings import Settings
from core.admin import AdminCommands
from core.dispatch import Dispatcher
from core.engine import Engine, LogObserver, Observer, Stage
from core.flags import FeatureFlags
from core.llm.gateway import LiteLLMGateway
from core.memory.stage import MemoryStage
from core.memory.window import ConversationMemory
from core.ops.wiring import open_ops
from core.profile import BotProfile
from core.prompts import PromptLibrary, builtin_prompts_dir
from core.services import Services
from core.stages.features import FeaturesStage
from core.stages.generate import GenerateStage
from core.stages.input import InputStage
from core.state.redis import open_redis
from core.tools.build import build_tools


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
        chain = settings.llm.chain()
        memory = ConversationMemory(redis, settings.memory, gateway, prompts,
                                    token_model=chain[0].model if chain else "gpt-4o-mini")
        locked = {"pii": True} if settings.pii.locked else {}
        tools = build_tools(settings.tools, redis, settings.data_dir)  # search: set tools.services.search
        stack.push_async_callback(tools.aclose)
        flags = FeatureFlags(redis, locked=locked, extra_features=tools.feature_names())  # + tools.<name>
        parts: dict[str, Any] = {"tools": tools}
        ops = await stack.enter_async_context(open_ops(settings, redis, gateway, parts))  # metrics, traces, limits
        parts["ops"] = ops
        observers: list[Observer] = [LogObserver(), *ops.observers]

        # The engine's stage order — the one place it is set:
        stages: list[Stage] = [
            *ops.stages,  # limits: rate limits + daily budgets (refuse first); record: reply facts for feedback
            InputStage(settings.limits.max_message_chars),  # refuse empty/oversized input before any work
            FeaturesStage(flags),  # effective flags: bot default -> workspace -> channel
            # pii: mask before anything else sees the text; restore placeholders on the way out
            tools.stage(memory),  # actions: Confirm/Cancel presses on proposed tool calls
            # cache: answer from the semantic cache (masked question); store eligible answers on the way out
            MemoryStage(memory),  # conversation window in; the exchange appended on the way out
            # retrieval: knowledge passages for the question
        ]
        terminal = GenerateStage(gateway, prompts, company=settings.company, tools=tools.runner)

        engine = Engine(stages, terminal, profiles, observers=observers)
        dispatcher = ops.dispatcher(engine)  # Redis Stream between receiving and answering (core/ops/queue.py)
        tools.post_follow_ups_via(dispatcher)  # long-running tool results
        admin = AdminCommands(flags)
        services = Services(engine=engine, dispatcher=dispatcher, admin=admin, flags=flags, redis=redis,
                            profiles=profiles)
        ops.attach(services)  # extras["feedback"], extras["metrics"], admin stats and `limit`
        runtime = Runtime(settings=settings, redis=redis, profiles=profiles, prompts=prompts, flags=flags,
                          gateway=gateway, memory=memory, engine=engine, dispatcher=dispatcher, admin=admin,
                          services=services, parts=parts, exit_stack=stack)
        yield runtime
