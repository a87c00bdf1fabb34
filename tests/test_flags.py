"""Feature flags: bot default -> workspace -> channel, locks, and the audit trail."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from core.admin import AdminCommands, AdminContext
from core.audience import Audience
from core.flags import FeatureFlags, FlagError
from core.profile import BotProfile

PROFILE = BotProfile(name="helpdesk", prompt="helpdesk", prompt_version="v1",
                     features={"rag": True, "cache": True, "pii": True, "tools": False, "streaming": True})


async def test_channel_overrides_workspace_overrides_bot_default(redis: aioredis.Redis) -> None:
    flags = FeatureFlags(redis)
    await flags.set("slack", "T1", "rag", False, by="U-admin")  # whole workspace
    await flags.set("slack", "T1", "rag", True, by="U-admin", channel="C-keep")
    general = await flags.effective(PROFILE, "slack", "T1", "C-general")
    keep = await flags.effective(PROFILE, "slack", "T1", "C-keep")
    other_tenant = await flags.effective(PROFILE, "slack", "T2", "C-general")
    assert (general["rag"].on, general["rag"].source) == (False, "workspace")
    assert (keep["rag"].on, keep["rag"].source) == (True, "channel")
    assert (other_tenant["rag"].on, other_tenant["rag"].source) == (True, "default")
    assert general["tools"].on is False and general["tools"].source == "default"
    assert general["rag"].by == "U-admin" and general["rag"].at


async def test_reset_restores_inheritance_and_every_admin_change_is_audited_old_to_new(redis: aioredis.Redis) -> None:
    flags = FeatureFlags(redis)
    admin = AdminCommands(flags)
    who = Audience(tenant="B1", user="42", role="chat_admin", place="group", channel="-100")
    ctx = AdminContext(platform="telegram", audience=who, profile=PROFILE)
    assert (await admin.handle(ctx, "disable cache")).changed
    assert (await admin.handle(ctx, "reset cache")).changed
    state = (await flags.effective(PROFILE, "telegram", "B1", "-100"))["cache"]
    assert (state.on, state.source) == (True, "default")
    history = await flags.history("telegram", "B1")
    assert [(h["action"], h["old"], h["new"]) for h in history] == [("reset", "off", "on"), ("disable", "on", "off")]
    assert all(h["by"] == "42" and h["feature"] == "cache" and h["where"] == "-100" and h["at"] for h in history)
    listed = (await admin.handle(ctx, "features")).text
    assert "disable `cache` (channel:-100): on → off" in listed


async def test_locked_and_unknown_features_cannot_change(redis: aioredis.Redis) -> None:
    flags = FeatureFlags(redis, locked={"pii": True})
    with pytest.raises(FlagError, match="locked"):
        await flags.set("slack", "T1", "pii", False, by="U1")
    with pytest.raises(FlagError, match="unknown feature"):
        await flags.set("slack", "T1", "teleport", True, by="U1")
    state = (await flags.effective(PROFILE, "slack", "T1", "C1"))["pii"]
    assert (state.on, state.source) == (True, "locked")
    assert await flags.history("slack", "T1") == []
