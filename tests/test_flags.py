"""Feature flags: bot default -> workspace -> channel, locks, and the audit trail."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

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


async def test_reset_restores_inheritance_and_everything_is_audited(redis: aioredis.Redis) -> None:
    flags = FeatureFlags(redis)
    await flags.set("telegram", "B1", "cache", False, by="42", channel="-100")
    await flags.reset("telegram", "B1", "cache", by="42", channel="-100")
    state = (await flags.effective(PROFILE, "telegram", "B1", "-100"))["cache"]
    assert (state.on, state.source) == (True, "default")
    history = await flags.history("telegram", "B1")
    assert [h["action"] for h in history] == ["reset", "disable"]
    assert all(h["by"] == "42" and h["feature"] == "cache" for h in history)


async def test_locked_and_unknown_features_cannot_change(redis: aioredis.Redis) -> None:
    flags = FeatureFlags(redis, locked={"pii": True})
    with pytest.raises(FlagError, match="locked"):
        await flags.set("slack", "T1", "pii", False, by="U1")
    with pytest.raises(FlagError, match="unknown feature"):
        await flags.set("slack", "T1", "teleport", True, by="U1")
    state = (await flags.effective(PROFILE, "slack", "T1", "C1"))["pii"]
    assert (state.on, state.source) == (True, "locked")
    assert await flags.history("slack", "T1") == []
