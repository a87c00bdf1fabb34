"""Rate limits, daily budgets, admin overrides and input validation, as users and admins see them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import redis.asyncio as aioredis

from bots.composition import open_runtime
from core.admin import AdminContext
from core.models import Error, Final, Inbound
from tests.support.queue import inbound, ops_settings
from tests.support.runtime import admin_context


async def answer(runtime, message: Inbound) -> Final | Error:
    events = [e async for e in runtime.engine.handle(message)]
    assert isinstance(events[-1], (Final, Error))
    return events[-1]


def admin_ctx(runtime, is_admin: bool = True, user: str = "UADMIN") -> AdminContext:
    return admin_context(runtime, role="workspace_admin" if is_admin else "member", user=user)


async def test_user_and_tenant_rate_limits_refuse_with_when_to_come_back(tmp_path: Path, redis: aioredis.Redis,
                                                                         llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, limits={"user_per_minute": 2, "tenant_per_minute": 3})
    async with open_runtime(settings) as runtime:
        assert isinstance(await answer(runtime, inbound("first", user="alice")), Final)
        assert isinstance(await answer(runtime, inbound("second", user="alice")), Final)
        refused = await answer(runtime, inbound("third", user="alice"))
        assert isinstance(refused, Error) and refused.code == "rate_limited"
        assert refused.message.startswith("You're sending messages faster than I can answer. Please try again in ")
        assert re.search(r"in (\d+ seconds|1 minute)\.$", refused.message), refused.message
        seconds = int(refused.message.split(" in ")[1].split()[0])
        assert 1 <= seconds <= 60
        # another user of the same workspace still gets an answer, until the workspace limit (3/min)
        assert isinstance(await answer(runtime, inbound("hello", user="bob")), Final)
        tenant_refused = await answer(runtime, inbound("hello again", user="carol"))
        assert isinstance(tenant_refused, Error) and tenant_refused.code == "rate_limited"
        # other workspaces are not affected; Russian users get Russian text
        ru = await answer(runtime, inbound("привет", user="dan", tenant="T2", locale="ru"))
        assert isinstance(ru, Final)
        # refused messages never reached the model: 4 answers, 4 model calls
        assert len(llm_server.requests_for("gpt-4o-mini")) == 4


async def test_rate_limit_holds_across_runtimes_sharing_redis(tmp_path: Path, redis: aioredis.Redis,
                                                              llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, limits={"user_per_minute": 1})
    async with open_runtime(settings) as one, open_runtime(settings) as two:
        assert isinstance(await answer(one, inbound("first")), Final)
        refused = await answer(two, inbound("второй вопрос", locale="en"))  # the message decides, not the locale
        assert isinstance(refused, Error) and refused.code == "rate_limited"
        assert refused.message.startswith("Вы пишете быстрее")


async def test_daily_token_budget_refuses_until_midnight_utc(tmp_path: Path, redis: aioredis.Redis,
                                                             llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, limits={"tenant_daily_tokens": 20})
    async with open_runtime(settings) as runtime:
        first = await answer(runtime, inbound("How do I reset my password?"))
        assert isinstance(first, Final)
        spent = first.usage.prompt_tokens + first.usage.completion_tokens
        assert spent >= 20  # one answer uses the budget up
        refused = await answer(runtime, inbound("One more?", user="someone-else"))
        assert isinstance(refused, Error) and refused.code == "budget_exhausted"
        tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%d")
        assert refused.message == f"The daily usage budget is used up. Please try again after {tomorrow} 00:00 UTC."
        stats = await runtime.admin.handle(admin_ctx(runtime), "stats")
        assert f"tokens today: {spent} of 20" in stats.text
        assert "messages today: 1" in stats.text
        # an admin raises the budget for this workspace: answers resume
        reply = await runtime.admin.handle(admin_ctx(runtime), "limit tokens 100000")
        assert reply.ok and reply.changed
        assert isinstance(await answer(runtime, inbound("One more?", user="someone-else")), Final)


async def test_only_admins_change_limits_and_overrides_apply_per_tenant(tmp_path: Path, redis: aioredis.Redis,
                                                                        llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, limits={"user_per_minute": 1})
    async with open_runtime(settings) as runtime:
        denied = await runtime.admin.handle(admin_ctx(runtime, is_admin=False, user="U2"), "limit user 10")
        assert not denied.ok and "only workspace or deployment administrators" in denied.text
        assert isinstance(await answer(runtime, inbound("one")), Final)
        assert (await answer(runtime, inbound("two"))).type == "error"
        bad = await runtime.admin.handle(admin_ctx(runtime), "limit user lots")
        assert not bad.ok and "not a number" in bad.text
        raised = await runtime.admin.handle(admin_ctx(runtime), "limit user 5")
        assert raised.ok and "5 messages per user per minute" in raised.text
        assert isinstance(await answer(runtime, inbound("three")), Final)
        # the override is for T1 only: T2 keeps the deployment default of 1/min
        assert isinstance(await answer(runtime, inbound("a", tenant="T2")), Final)
        assert (await answer(runtime, inbound("b", tenant="T2"))).type == "error"
        shown = await runtime.admin.handle(admin_ctx(runtime), "limit")
        assert "`user`: 5 messages per user per minute" in shown.text
        help_text = (await runtime.admin.handle(admin_ctx(runtime), "help")).text
        assert "limit" in help_text
        await runtime.admin.handle(admin_ctx(runtime), "limit reset")
        assert "`user`: 1 messages per user per minute" in (await runtime.admin.handle(admin_ctx(runtime),
                                                                                       "limit")).text


async def test_bad_input_gets_a_clear_reply_and_nothing_crashes(tmp_path: Path, redis: aioredis.Redis,
                                                                llm_server) -> None:
    settings = ops_settings(tmp_path, redis, llm_server, limits={"max_message_chars": 50})
    async with open_runtime(settings) as runtime:
        cases = {
            "": "empty_message",
            "   \n\t ": "empty_message",
            "\x00\x01\x02\x03\ufffe": "empty_message",
            "y" * 51: "message_too_long",
        }
        for text, code in cases.items():
            result = await answer(runtime, inbound(text))
            assert isinstance(result, Error) and result.code == code, text
        too_long = await answer(runtime, inbound("z" * 80))
        assert too_long.message == "Your message is too long (80 characters; the limit is 50). Please shorten it."
        # junk mixed into a real question is dropped, the question is answered
        ok = await answer(runtime, inbound("where\x00 is the \x07printer?"))
        assert isinstance(ok, Final)
        assert llm_server.requests[-1].body["messages"][-1]["content"].endswith("where is the printer?")
