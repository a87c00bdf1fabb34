"""Rate limits and daily budgets, kept in Redis so they hold across every worker.

- messages per minute per user and per tenant: a sliding window (a sorted set of message times per
  key), checked and counted atomically by one Lua script; a refused message is not counted;
- tokens and cost per tenant per UTC day: counted from `turn.usage` when a reply is final, and from every side
  model call as it ends (`charge_side`: cache judge, rewrite, summary, rerank, embeddings, STT, vision), checked
  before the next message starts (a reply in progress is never cut because of its own cost); the same amounts
  go to the spend ledger (core/ops/spend.py), split main vs side, for `deskmate report`;
- per-tenant overrides set by admins (`limit ...` admin command) win over the deployment settings.

Keys: dm:rate:<platform>:<tenant>:user:<user> / dm:rate:<platform>:<tenant>:tenant (sorted sets),
dm:usage:<platform>:<tenant>:<YYYYMMDD> (hash: messages, tokens, cost_micro_usd),
dm:limits:<platform>:<tenant> (hash of overrides).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog

from core.admin import AdminContext, AdminReply
from core.engine import Next
from core.errors import PolicyBlocked
from core.llm.side import pay_as
from core.models import Final, ReplyEvent
from core.ops.settings import LimitsSettings
from core.ops.spend import SPEND_TTL_S, spend_fields, spend_key
from core.state.keys import key
from core.texts import render, text
from core.turn import Turn

log = structlog.get_logger("deskmate.limits")

WINDOW_MS = 60_000
USAGE_TTL_S = 3 * 86_400
OVERRIDES = {  # admin word -> (override field, type, label)
    "user": ("user_per_minute", int, "limit_label_user"),
    "tenant": ("tenant_per_minute", int, "limit_label_tenant"),
    "tokens": ("tenant_daily_tokens", int, "limit_label_tokens"),
    "cost": ("tenant_daily_cost_usd", float, "limit_label_cost"),
}

# KEYS: user window, tenant window. ARGV: now ms, window ms, user limit, tenant limit, member.
# Returns {allowed, retry_after_ms, which (1 user, 2 tenant)}. Nothing is counted when refused.
_WINDOW = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i = 1, 2 do
  local limit = tonumber(ARGV[2 + i])
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    if redis.call('ZCARD', KEYS[i]) >= limit then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      return {0, tonumber(oldest[2]) + window - now, i}
    end
  end
end
for i = 1, 2 do
  if tonumber(ARGV[2 + i]) > 0 then
    redis.call('ZADD', KEYS[i], now, ARGV[5])
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class EffectiveLimits:
    user_per_minute: int
    tenant_per_minute: int
    tenant_daily_tokens: int
    tenant_daily_cost_usd: float


def _day(now: float) -> str:
    return time.strftime("%Y%m%d", time.gmtime(now))


def _next_midnight(now: float) -> dt.datetime:
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 0), dt.UTC)


def human_wait(seconds: float, language: str) -> str:
    """'45 seconds' / '2 minutes' (or Russian), rounded up so the user is never told too early."""
    secs = max(1, int(-(-seconds // 1)))
    if secs < 60:
        return text("seconds" if secs == 1 else "seconds_many", language, n=secs)
    mins = -(-secs // 60)
    return text("minutes" if mins == 1 else "minutes_many", language, n=mins)


class Limits:
    """The Redis side of limits and budgets, shared by the stage, the admin command and stats."""

    def __init__(self, redis: aioredis.Redis, settings: LimitsSettings) -> None:
        self.redis = redis
        self.settings = settings
        self._window = redis.register_script(_WINDOW)

    # -- overrides

    async def effective(self, platform: str, tenant: str) -> EffectiveLimits:
        return self._effective(await self.redis.hgetall(key("limits", platform, tenant)))

    def _effective(self, raw: dict[bytes, bytes]) -> EffectiveLimits:
        values: dict[str, Any] = {}
        for field_name, kind, _ in OVERRIDES.values():
            value = raw.get(field_name.encode())
            values[field_name] = kind(value.decode()) if value is not None else getattr(self.settings, field_name)
        return EffectiveLimits(**values)

    async def set_override(self, platform: str, tenant: str, field_name: str, value: float) -> None:
        await self.redis.hset(key("limits", platform, tenant), field_name, str(value))

    async def reset_overrides(self, platform: str, tenant: str) -> None:
        await self.redis.delete(key("limits", platform, tenant))

    # -- checks

    async def check(self, turn: Turn, now: float | None = None) -> None:
        """Raise PolicyBlocked when this message is over a rate limit or its tenant over budget."""
        inbound = turn.inbound
        now = time.time() if now is None else now
        async with self.redis.pipeline(transaction=False) as pipe:  # overrides and today's usage: one round trip
            pipe.hgetall(key("limits", inbound.platform, inbound.tenant))
            pipe.hgetall(key("usage", inbound.platform, inbound.tenant, _day(now)))
            raw_limits, raw_usage = await pipe.execute()
        limits = self._effective(raw_limits)
        usage = _usage(raw_usage)
        over_tokens = limits.tenant_daily_tokens and usage["tokens"] >= limits.tenant_daily_tokens
        over_cost = limits.tenant_daily_cost_usd and usage["cost_usd"] >= limits.tenant_daily_cost_usd
        if over_tokens or over_cost:
            turn.facts["limit"] = "budget_tokens" if over_tokens else "budget_cost"
            retry_at = _next_midnight(now).strftime("%Y-%m-%d %H:%M UTC")
            raise PolicyBlocked("budget_exhausted", retry_at=retry_at)
        if inbound.action is not None:
            return  # a button press answers an earlier message: not a new message to rate-limit
        allowed, retry_ms, which = await self._window(
            keys=[key("rate", inbound.platform, inbound.tenant, "user", inbound.user),
                  key("rate", inbound.platform, inbound.tenant, "tenant")],
            args=[int(now * 1000), WINDOW_MS, limits.user_per_minute, limits.tenant_per_minute, inbound.message_id],
        )
        if not allowed:
            turn.facts["limit"] = "rate_user" if which == 1 else "rate_tenant"
            raise PolicyBlocked("rate_limited", retry_in=human_wait(retry_ms / 1000, turn.language))
        await self._count(inbound.platform, inbound.tenant, now, messages=1)

    # -- usage

    async def usage(self, platform: str, tenant: str, now: float | None = None) -> dict[str, Any]:
        day = _day(time.time() if now is None else now)
        return _usage(await self.redis.hgetall(key("usage", platform, tenant, day)))

    async def charge(self, turn: Turn, now: float | None = None) -> None:
        usage = turn.usage
        tokens = usage.prompt_tokens + usage.completion_tokens
        if tokens or usage.cost_usd:
            micro = round(usage.cost_usd * 1e6)
            await self._count(turn.inbound.platform, turn.inbound.tenant, time.time() if now is None else now,
                              spend=spend_fields("main", tokens, micro), tokens=tokens, cost_micro_usd=micro)

    async def charge_side(self, platform: str, tenant: str, kind: str, tokens: int, cost_usd: float,
                          now: float | None = None) -> None:
        """A side model call's usage: in the tenant's daily budget like the answer's, and in the ledger as side."""
        micro = round(cost_usd * 1e6)
        await self._count(platform, tenant, time.time() if now is None else now,
                          spend=spend_fields("side", tokens, micro, kind), tokens=tokens, cost_micro_usd=micro)

    async def _count(self, platform: str, tenant: str, now: float, spend: dict[str, int] | None = None,
                     **amounts: int) -> None:
        k = key("usage", platform, tenant, _day(now))
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, amount in amounts.items():
                pipe.hincrby(k, name, amount)
            pipe.expire(k, USAGE_TTL_S)
            if spend:
                ledger = spend_key(platform, tenant, now)
                for name, amount in spend.items():
                    pipe.hincrby(ledger, name, amount)
                pipe.expire(ledger, SPEND_TTL_S)
            await pipe.execute()

    # -- admin

    async def stats(self, platform: str, tenant: str) -> dict[str, Any]:
        usage = await self.usage(platform, tenant)
        limits = await self.effective(platform, tenant)
        return {  # text keys and (key, params): the admin command shows them in the reader's language
            "stat_messages_today": usage["messages"],
            "stat_tokens_today": usage["tokens"] if not limits.tenant_daily_tokens
            else ("limits_of", {"used": usage["tokens"], "limit": limits.tenant_daily_tokens}),
            "stat_cost_today": f"{usage['cost_usd']:.4f}" if not limits.tenant_daily_cost_usd
            else ("limits_of", {"used": f"{usage['cost_usd']:.4f}", "limit": f"{limits.tenant_daily_cost_usd:.2f}"}),
            "stat_rate_limits": ("limits_rate_value", {"user": _or_none(limits.user_per_minute),
                                                       "tenant": _or_none(limits.tenant_per_minute)}),
        }

    async def admin_command(self, ctx: AdminContext, args: list[str]) -> AdminReply:
        """`limit` shows the limits; `limit <user|tenant|tokens|cost> <n>` sets one here; `limit reset`."""
        p, lang = ctx.command_prefix, ctx.locale
        words = "|".join(OVERRIDES)
        if not args:
            limits = await self.effective(ctx.platform, ctx.tenant)
            lines = [text("limits_title", lang)] + [
                f"• `{word}`: {render(_or_none(getattr(limits, field_name)), lang)} {text(label, lang)}"
                for word, (field_name, _, label) in OVERRIDES.items()
            ]
            lines.append(text("limits_change_hint", lang, p=p, words=words))
            return AdminReply("\n".join(lines))
        before = await self.effective(ctx.platform, ctx.tenant)
        if args[0].lower() == "reset":
            await self.reset_overrides(ctx.platform, ctx.tenant)
            log.info("limits_reset", platform=ctx.platform, tenant=ctx.tenant, by=ctx.user)
            after = await self.effective(ctx.platform, ctx.tenant)
            changes = {f: (getattr(before, f), getattr(after, f)) for f, _, _ in OVERRIDES.values()}
            return AdminReply(text("limits_reset_done", lang), changed=True, audit={
                "action": "limit reset", "limit": "all", "scope": "workspace",
                "old": ", ".join(f"{f}={_plain(o)}" for f, (o, _) in changes.items()),
                "new": ", ".join(f"{f}={_plain(n)}" for f, (_, n) in changes.items())})
        word = args[0].lower()
        if word not in OVERRIDES or len(args) != 2:
            return AdminReply(text("limits_usage", lang, p=p, words=words), ok=False)
        field_name, kind, label = OVERRIDES[word]
        try:
            value = kind(args[1])
        except ValueError:
            return AdminReply(text("limits_not_number", lang, value=args[1]), ok=False)
        if value < 0:
            return AdminReply(text("limits_negative", lang), ok=False)
        await self.set_override(ctx.platform, ctx.tenant, field_name, value)
        log.info("limit_set", platform=ctx.platform, tenant=ctx.tenant, limit=field_name, value=value, by=ctx.user)
        return AdminReply(text("limits_set_done", lang, value=render(_or_none(value), lang), label=text(label, lang)),
                          changed=True, audit={"action": "limit", "limit": field_name, "scope": "workspace",
                                               "old": _plain(getattr(before, field_name)), "new": _plain(value)})


def _usage(raw: dict[bytes, bytes]) -> dict[str, Any]:
    get = lambda name: int(raw.get(name.encode(), b"0"))  # noqa: E731
    return {"messages": get("messages"), "tokens": get("tokens"), "cost_usd": get("cost_micro_usd") / 1e6}


def _plain(value: float) -> str:
    """A limit for the audit record (English, machine-readable)."""
    return render(_or_none(value), "en")


def _or_none(value: float) -> str:
    """The number, or the text key for "no limit" (shown with `render`)."""
    return "limits_none" if not value else (f"{value:g}" if isinstance(value, float) else str(value))


class LimitsStage:
    """First stage: refuse over-limit messages before any work; charge the tenant's budget when final."""

    name = "limits"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        pay_as(turn.inbound.platform, turn.inbound.tenant)  # side calls of this answer are charged to its tenant
        await self.limits.check(turn)
        async for event in call_next(turn):
            if isinstance(event, Final):
                try:
                    await self.limits.charge(turn)
                except Exception as exc:  # a Redis hiccup must not lose the answer
                    log.warning("budget_charge_failed", request_id=turn.reply_id, error=type(exc).__name__)
            yield event
