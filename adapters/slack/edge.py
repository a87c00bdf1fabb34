"""Slack's edge function: one event -> who is asking, where, and what they may read (core.audience.Audience).

Everything access depends on is decided here, once per event, from Slack's own facts: the workspace (or the
Enterprise Grid org) is the tenant; users.info says whether the user administers the workspace; the channel type
says the place; the bot profile's channel grants and `DESKMATE_ACCESS__USERS` (user ids and Slack user groups) say
which access groups are readable. Users and user groups are cached in Redis for `user_cache_s`.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.settings import SlackSettings
from core.audience import AccessSettings, Audience, Place, resolve_audience
from core.knowledge.options import RetrievalOptions
from core.profile import BotProfile
from core.state.keys import key

log = structlog.get_logger("deskmate.slack")

PLACES: dict[str, Place] = {"im": "dm", "mpim": "group", "group": "private_channel", "channel": "public_channel"}


def tenant_of(body: dict[str, Any]) -> str:
    """The tenant of an event: the Enterprise Grid org when there is one, else the workspace."""
    event = body.get("event") or {}
    enterprise = body.get("enterprise_id") or (body.get("enterprise") or {}).get("id")
    if body.get("is_enterprise_install") and enterprise:
        return str(enterprise)
    team = body.get("team_id") or (body.get("team") or {}).get("id") or event.get("team") or enterprise
    return str(team or "unknown")


def place_of(channel: str, channel_type: str | None) -> Place:
    if channel_type in PLACES:
        return PLACES[channel_type]
    return {"D": "dm", "G": "private_channel"}.get(channel[:1], "public_channel")


class SlackEdge:
    def __init__(self, settings: SlackSettings, access: AccessSettings, profile: BotProfile,
                 client: AsyncWebClient, redis: aioredis.Redis) -> None:
        self.settings = settings
        self.access = access
        self.client = client
        self.redis = redis
        self.options = RetrievalOptions.model_validate(profile.retrieval)
        self.wants_groups = any(k.startswith("slack-group:") for k in access.users)

    async def audience(self, body: dict[str, Any], user: str, channel: str,
                       channel_type: str | None = None) -> tuple[Audience, str | None]:
        """(audience, the user's locale) for one event."""
        tenant = tenant_of(body)
        admin, locale = await self._user(tenant, user)
        grant = self.options.channels.get(channel)
        audience = resolve_audience(
            self.access, platform="slack", tenant=tenant, user=user, channel=channel,
            place=place_of(channel, channel_type), platform_admin=admin, employee=True,
            user_groups=await self._groups(tenant, user) if self.wants_groups else (),
            bot_groups=self.options.access_groups,
            channel_groups=grant.access_groups if grant is not None else None,
            allow_listed=user in self.settings.admin_users,
        )
        return audience, locale

    async def _user(self, tenant: str, user: str) -> tuple[bool, str | None]:
        """(workspace admin or owner, locale) from users.info, cached; unknown = not an admin."""
        cache_key = key("slack", "user", tenant, user)
        cached = await self._get(cache_key) if self.settings.user_cache_s else None
        if cached is not None:
            facts = json.loads(cached)
            return bool(facts["admin"]), facts.get("locale")
        try:
            resp = await self.client.users_info(user=user, include_locale=True)
        except SlackApiError as exc:  # not cached: asked again next time
            log.warning("slack_users_info_failed", error=exc.response.get("error"))
            return False, None
        info = resp.get("user") or {}
        facts = {"admin": bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")),
                 "locale": info.get("locale")}
        if self.settings.user_cache_s:
            await self._set(cache_key, json.dumps(facts), self.settings.user_cache_s)
        return bool(facts["admin"]), facts.get("locale")

    async def _groups(self, tenant: str, user: str) -> list[str]:
        """The Slack user groups `user` belongs to (usergroups.list with members), cached per workspace."""
        cache_key = key("slack", "usergroups", tenant)
        cached = await self._get(cache_key)
        if cached is not None:
            members: dict[str, list[str]] = json.loads(cached)
        else:
            try:
                resp = await self.client.usergroups_list(include_users=True)
            except SlackApiError as exc:  # fail closed: no group-based access until Slack answers
                log.warning("slack_usergroups_failed", error=exc.response.get("error"))
                return []
            members = {str(g.get("id")): [str(u) for u in g.get("users") or []] for g in resp.get("usergroups") or []}
            await self._set(cache_key, json.dumps(members), max(60, self.settings.user_cache_s))
        return sorted(group for group, users in members.items() if user in users)

    # A cache: while Redis is unreachable, Slack is asked (a message is still answered, only slower).

    async def _get(self, cache_key: str) -> bytes | None:
        try:
            return await self.redis.get(cache_key)
        except (RedisError, OSError) as exc:
            log.warning("slack_cache_unreachable", error=type(exc).__name__)
            return None

    async def _set(self, cache_key: str, value: str, ttl_s: int) -> None:
        try:
            await self.redis.set(cache_key, value, ex=ttl_s)
        except (RedisError, OSError) as exc:
            log.warning("slack_cache_unreachable", error=type(exc).__name__)
