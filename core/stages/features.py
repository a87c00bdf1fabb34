"""Features stage: resolve the effective feature flags for this tenant/channel into the turn."""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.engine import Next
from core.flags import FeatureFlags
from core.models import ReplyEvent
from core.turn import Turn


class FeaturesStage:
    name = "features"

    def __init__(self, flags: FeatureFlags) -> None:
        self.flags = flags

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        inbound = turn.inbound
        states = await self.flags.effective(turn.profile, inbound.platform, inbound.tenant, inbound.channel)
        turn.flags = {name: state.on for name, state in states.items()}
        turn.facts["features"] = ",".join(sorted(n for n, on in turn.flags.items() if on))
        async for event in call_next(turn):
            yield event
