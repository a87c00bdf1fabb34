"""`deskmate doctor`: check every part this configuration needs, one line each, and say what to do on failure.

Checks: settings, Redis, the vector store, the embedder, the PII analyzer, each configured model (one tiny call),
Slack `auth.test` and Telegram `getMe` when configured. Exit code 1 when any check FAILs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import redis.asyncio as aioredis

from bots.settings import Settings

CHECK_TIMEOUT_S = 20.0


class CheckFailed(Exception):
    """A failure whose message already says what went wrong."""


@dataclass
class Result:
    status: str  # "ok" | "FAIL" | "skip"
    name: str
    detail: str


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check settings, Redis, the vector store, models and platforms",
        description="Check every part this configuration needs and print one line per check (ok / FAIL + what to "
                    "do). Exit code 1 when any check fails.",
    )
    parser.set_defaults(func=run)


def report(result: Result) -> None:
    print(f"{result.status:<5} {result.name:<28} {result.detail}", flush=True)


def settings_failed(problem: str) -> int:
    """Called by the CLI when the settings themselves do not load."""
    report(Result("FAIL", "settings", f"{problem} — fix that setting (env DESKMATE_* or --config YAML)"))
    return 1


async def _timed(name: str, check: Callable[[], Awaitable[str]], fix: str) -> Result:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return Result("FAIL", name, f"no answer within {CHECK_TIMEOUT_S:g} s — {fix}")
    except Exception as exc:
        message = " ".join(str(exc).split())[:240]
        prefix = "" if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: "
        return Result("FAIL", name, f"{prefix}{message} — {fix}")
    return Result("ok", name, f"{detail} ({(time.perf_counter() - started) * 1000:.0f} ms)")


async def _redis(settings: Settings, stack: AsyncExitStack) -> tuple[Result, aioredis.Redis | None]:
    from core.state.redis import open_redis

    opened: list[aioredis.Redis] = []

    async def check() -> str:
        client = await stack.enter_async_context(open_redis(settings.redis_url, settings.data_dir))
        opened.append(client)
        info = await client.info("server")
        where = settings.redis_url or f"embedded under {settings.data_dir}"
        return f"redis {info.get('redis_version', '?')} at {where}"

    fix = "check DESKMATE_REDIS_URL (host, port, password) or unset it for the embedded server"
    result = await _timed("redis", check, fix)
    return result, opened[0] if result.status == "ok" and opened else None


async def _vector_store(settings: Settings) -> Result:
    from core.knowledge.store import open_client

    async def check() -> str:
        client = await asyncio.to_thread(open_client, settings.chroma, settings.data_dir)
        await asyncio.to_thread(client.heartbeat)
        collections = await asyncio.to_thread(client.list_collections)
        return f"chroma {'at ' + settings.chroma.url if settings.chroma.url else 'embedded'}, " \
               f"{len(collections)} collection(s)"

    return await _timed("vector store", check, "check DESKMATE_CHROMA__URL or unset it for the embedded store")


async def _embedder(settings: Settings) -> Result:
    from core.knowledge.embeddings import build_embedder

    async def check() -> str:
        embedder = build_embedder(settings.embeddings)
        vectors = await embedder.embed(["doctor"])
        return f"{embedder.model_id}, {len(vectors[0])} dimensions"

    return await _timed("embedder", check, "check DESKMATE_EMBEDDINGS__MODEL / __API_BASE / __API_KEY")


async def _pii(settings: Settings) -> Result:
    from core.pii.analyzer import build_analyzer

    async def check() -> str:
        analyzer = await asyncio.to_thread(build_analyzer, settings.pii)
        found = await asyncio.to_thread(analyzer.analyze, "write to jane.doe@example.com", "en")
        if not found:
            raise CheckFailed("the analyzer found no e-mail address in a test sentence")
        return "presidio analyzer loaded, masks a test e-mail"

    return await _timed("pii analyzer", check, "check DESKMATE_PII__SPACY_MODEL; the spaCy model must be installed")


async def _models(settings: Settings, redis: aioredis.Redis) -> list[Result]:
    from core.llm.capabilities import resolve
    from core.llm.gateway import LiteLLMGateway
    from core.llm.settings import LLMSettings, ModelEndpoint

    chain = settings.llm.chain()
    if not chain:
        return [Result("skip", "llm", "no model configured: answers are retrieval-only (set DESKMATE_LLM__MODEL)")]
    results = []
    for ep in chain:
        one = LLMSettings(models=[ep], num_retries=0, timeout_s=min(settings.llm.timeout_s, 15),
                          first_token_timeout_s=min(settings.llm.first_token_timeout_s or 15, 15))
        gateway = LiteLLMGateway(one, redis)

        async def check(gateway: LiteLLMGateway = gateway, ep: ModelEndpoint = ep) -> str:
            try:
                done = await gateway.complete([{"role": "user", "content": "Reply with: ok"}], max_tokens=2)
            except Exception:
                ok, problem = gateway.ready()
                cause = problem if not ok else gateway.health.last_failure.get(ep.model, "")
                if cause:
                    raise CheckFailed(cause) from None
                raise
            caps = resolve(ep, settings.llm)  # what the running bot will use for this model
            return (f"answered in one call ({done.usage.prompt_tokens}+{done.usage.completion_tokens} tokens"
                    f"{', estimated' if done.usage.estimated else ''}); {'local, ' if caps.local else ''}"
                    f"key {'needed' if caps.needs_key else 'not needed'}, tools {caps.tools}, "
                    f"window {caps.context_window or 'unknown'}, max_tokens {caps.max_tokens}, "
                    f"first token within {caps.first_token_timeout_s:g} s")

        where = ep.api_base or "provider default"
        fix = f"check the model string, DESKMATE_LLM__API_BASE ({where}) and DESKMATE_LLM__API_KEY"
        results.append(await _timed(f"llm {ep.model}", check, fix))
        await gateway.aclose()
    return results


async def _slack(settings: Settings) -> Result:
    if settings.slack.bot_token is None:
        return Result("skip", "slack", "not configured (DESKMATE_SLACK__BOT_TOKEN)")
    from slack_sdk.web.async_client import AsyncWebClient

    async def check() -> str:
        client = AsyncWebClient(token=settings.slack.bot_token.get_secret_value(), base_url=settings.slack.api_url)
        answer = await client.auth_test()
        return f"auth.test ok: team {answer.get('team')} ({answer.get('team_id')}), bot {answer.get('user')}"

    return await _timed("slack auth.test", check, "check DESKMATE_SLACK__BOT_TOKEN and DESKMATE_SLACK__API_URL")


async def _telegram(settings: Settings) -> Result:
    if settings.telegram.token is None:
        return Result("skip", "telegram", "not configured (DESKMATE_TELEGRAM__TOKEN)")
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    async def check() -> str:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram.api_url))
        bot = Bot(settings.telegram.token.get_secret_value(), session=session)
        try:
            me = await bot.get_me()
        finally:
            await session.close()
        return f"getMe ok: @{me.username} ({me.id})"

    return await _timed("telegram getMe", check, "check DESKMATE_TELEGRAM__TOKEN and DESKMATE_TELEGRAM__API_URL")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from core.log import configure_logging

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_stream = (settings.data_dir / "deskmate.log").open("a", encoding="utf-8")
    configure_logging(settings.log_level, "json", log_stream)  # the report is on stdout; details in the log
    results = [Result("ok", "settings", "loaded and valid")]
    report(results[0])
    try:
        async with AsyncExitStack() as stack:
            redis_result, redis = await _redis(settings, stack)
            results.append(redis_result)
            report(redis_result)
            for check in (_vector_store, _embedder, _pii):
                results.append(await check(settings))
                report(results[-1])
            if redis is None:
                results.append(Result("skip", "llm", "needs Redis (the circuit breaker lives there)"))
                report(results[-1])
            else:
                for result in await _models(settings, redis):
                    results.append(result)
                    report(result)
            for platform in (_slack, _telegram):
                results.append(await platform(settings))
                report(results[-1])
    finally:
        log_stream.close()
    failed = [r for r in results if r.status == "FAIL"]
    print(f"{len(failed)} check(s) failed" if failed else "all checks passed", file=sys.stderr)
    return 1 if failed else 0
