"""The PII stage: mask the inbound text before any later stage sees it; restore placeholders on the way out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from core.engine import Next
from core.models import Final, NeedsConfirmation, ReplyEvent, Status, TextDelta, ToolCall, ToolResult
from core.pii.masker import Masker
from core.pii.options import BotPiiOptions, parse_options
from core.pii.restore import StreamRestorer
from core.pii.vault import Mapping as VaultMapping
from core.profile import BotProfile
from core.turn import Turn


class _Conversation:
    """This turn's view of the conversation's vault: masks more text, restores placeholders."""

    def __init__(self, masker: Masker, key: str, options: BotPiiOptions, mapping: VaultMapping,
                 turn: Turn) -> None:
        self.masker, self.key, self.options, self.mapping, self.turn = masker, key, options, mapping, turn

    async def mask(self, text: str) -> str:
        """Mask a tool result (or any text) before it goes to the model."""
        if not text.strip():
            return text
        masked = await self.masker.mask(self.key, text, self.options)
        self.mapping.values.update(masked.mapping.values)
        _add_counts(self.turn, masked.counts)
        return masked.text

    def unmask(self, text: str) -> str:
        return self.mapping.restore(text)

    def restore_for_user(self, text: str) -> str:
        restored = self.mapping.restore(text)
        if restored != text:
            self.turn.pii_restored = True
            self.turn.facts["pii_restored"] = True
        return restored

    def restore_any(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.restore_for_user(value)
        if isinstance(value, dict):
            return {k: self.restore_any(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.restore_any(v) for v in value)
        return value


def _add_counts(turn: Turn, counts: Mapping[str, int]) -> None:
    total: dict[str, int] = turn.facts.setdefault("pii_masked", {})
    for lab, n in counts.items():
        total[lab] = total.get(lab, 0) + n


class PiiStage:
    name = "pii"

    def __init__(self, masker: Masker, profiles: Mapping[str, BotProfile], locked: bool = False) -> None:
        self.masker = masker
        self.locked = locked
        self._options = {name: parse_options(p.pii, p.languages, name) for name, p in profiles.items()}

    def options(self, profile: BotProfile) -> BotPiiOptions:
        options = self._options.get(profile.name)
        if options is None:
            options = self._options[profile.name] = parse_options(profile.pii, profile.languages, profile.name)
        return options

    async def run(self, turn: Turn, call_next: Next) -> AsyncIterator[ReplyEvent]:
        if not (self.locked or turn.enabled("pii")):
            turn.facts["pii"] = "off"
            async for event in call_next(turn):
                yield event
            return

        options = self.options(turn.profile)
        key = turn.inbound.conversation_key
        masked = await self.masker.mask(key, turn.text, options)
        conv = _Conversation(self.masker, key, options, masked.mapping, turn)
        turn.text = masked.text
        turn.mask = conv.mask
        turn.unmask = conv.unmask
        turn.facts["pii"] = "on"
        turn.facts["pii_language"] = masked.language
        _add_counts(turn, masked.counts)

        restorer = StreamRestorer(conv.restore_for_user)
        async for event in call_next(turn):
            if isinstance(event, TextDelta):
                out = restorer.feed(event.text)
                if out:
                    yield TextDelta(text=out)
                continue
            if isinstance(event, Final | ToolCall | ToolResult | NeedsConfirmation | Status) or event.type == "error":
                tail = restorer.flush()  # text shown so far is complete before anything else appears
                if tail:
                    yield TextDelta(text=tail)
            if isinstance(event, Final):
                event = event.model_copy(update={"text": conv.restore_for_user(event.text)})
            elif isinstance(event, Status):
                event = event.model_copy(update={"text": conv.restore_for_user(event.text)})
            elif isinstance(event, NeedsConfirmation | ToolResult):
                event = event.model_copy(update={"summary": conv.restore_for_user(event.summary)})
            elif isinstance(event, ToolCall):
                event = event.model_copy(update={"arguments": conv.restore_any(event.arguments)})
            yield event
        tail = restorer.flush()
        if tail:
            yield TextDelta(text=tail)
