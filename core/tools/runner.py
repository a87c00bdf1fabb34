"""Running tool calls safely: allow-list and flags, argument validation, rate limit, timeout, confirmation, audit.

`ToolRunner` is the generate stage's tools seam (`specs`, `execute`, `max_rounds`) and also resolves
Confirm/Cancel presses for the actions stage (`resolve`).

Personal data: the model writes placeholders (<EMAIL_1>); they are restored with `turn.unmask` right
before a tool runs, tool results are masked with `turn.mask` before they go back to the model, and the
audit trail and proposals keep the masked arguments only.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import structlog
from pydantic import BaseModel

from core.llm.types import ToolCallRequest
from core.models import Action, NeedsConfirmation, ReplyEvent, Status, TextDelta, ToolCall, ToolResult
from core.texts import text
from core.tools.audit import Status as AuditStatus
from core.tools.audit import ToolAudit
from core.tools.context import ToolContext, ToolOutput
from core.tools.intent import suggested_by_document, tools_for
from core.tools.limits import ToolRateLimit
from core.tools.pending import FollowUps
from core.tools.proposals import Proposal, ProposalStore
from core.tools.registry import ArgumentsError, Tool, ToolRegistry
from core.tools.services import ToolServices
from core.tools.settings import ToolsSettings
from core.turn import Turn

log = structlog.get_logger("deskmate.tools")

RESULT_SUMMARY_CHARS = 200


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


class _Params(defaultdict[str, Any]):
    """Format parameters that render a missing key as empty instead of failing."""

    def __missing__(self, key: str) -> str:
        return ""


class ToolRunner:
    def __init__(self, registry: ToolRegistry, services: ToolServices, audit: ToolAudit, proposals: ProposalStore,
                 rate_limit: ToolRateLimit, follow_ups: FollowUps, settings: ToolsSettings) -> None:
        self.registry = registry
        self.services = services
        self.audit = audit
        self.proposals = proposals
        self.rate_limit = rate_limit
        self.follow_ups = follow_ups
        self.settings = settings

    @property
    def max_rounds(self) -> int:
        return self.settings.max_rounds

    # -- what this turn may use

    def allowed(self, turn: Turn, name: str) -> bool:
        """Allow-listed by the bot, `tools` on here, and `tools.<name>` not switched off (unset = on)."""
        return (name in turn.profile.tools and name in self.registry.tools and turn.enabled("tools")
                and turn.flags.get(f"tools.{name}", True))

    def names(self, turn: Turn) -> list[str]:
        """Every tool this turn may run (whether or not its schema is offered to the model)."""
        return [n for n in turn.profile.tools if self.allowed(turn, n)]

    def specs(self, turn: Turn) -> list[dict[str, Any]]:
        """Schemas offered to the model: the turn's tools that its words may call for (or all, `offer: always`)."""
        names = self.names(turn)
        if self.settings.offer == "intent":
            names = tools_for(turn.text, names, turn.history)
        return self.registry.specs(names)

    # -- the model's calls

    async def execute(self, turn: Turn, calls: Sequence[ToolCallRequest],
                      messages: list[dict[str, Any]]) -> AsyncIterator[ReplyEvent]:
        asked_confirmation = False
        for call in calls:
            content = ""
            async for event in self._one(turn, call):
                if isinstance(event, str):
                    content = event
                    continue
                if isinstance(event, NeedsConfirmation) and not asked_confirmation:
                    asked_confirmation = True
                    yield TextDelta(text=text("tool_needs_confirmation", turn.language))
                yield event
            messages.append({"role": "tool", "tool_call_id": call.call_id, "content": content})
        turn.facts["tool_calls"] = turn.facts.get("tool_calls", 0) + len(calls)
        if asked_confirmation:
            turn.awaiting_confirmation = True

    async def _one(self, turn: Turn, call: ToolCallRequest) -> AsyncIterator[ReplyEvent | str]:
        """Events for the user, and one str: the tool message content for the model (masked)."""
        inbound = turn.inbound

        async def audit(status: AuditStatus, args: dict[str, Any] | None = None, latency_ms: float = 0.0,
                        proposal_id: str = "", detail: str = "") -> None:
            await self.audit.record(platform=inbound.platform, tenant=inbound.tenant, user=inbound.user,
                                    tool=call.name, status=status, args=args, latency_ms=latency_ms,
                                    request_id=turn.reply_id, conversation=inbound.conversation_key,
                                    proposal_id=proposal_id, detail=detail)

        tool = self.registry.get(call.name)
        if tool is None or not self.allowed(turn, call.name):
            await audit("unknown" if tool is None else "denied")
            yield ToolResult(call_id=call.call_id, name=call.name, ok=False, summary="not available")
            yield (f"Error: the tool '{call.name}' is not available here. Do not call it again; "
                   "answer without it or tell the user you cannot do that.")
            return
        try:
            masked_args = tool.parse(call.arguments_json)
        except ArgumentsError as exc:
            await audit("invalid", detail=str(exc))
            yield ToolResult(call_id=call.call_id, name=call.name, ok=False, summary="invalid arguments")
            yield f"Error: {exc}. Call {call.name} again with corrected arguments."
            return
        yield ToolCall(call_id=call.call_id, name=call.name, arguments=masked_args)
        try:
            args = tool.validate(_map_strings(masked_args, turn.unmask))
        except ArgumentsError as exc:
            await audit("invalid", masked_args, detail=str(exc))
            yield ToolResult(call_id=call.call_id, name=call.name, ok=False, summary="invalid arguments")
            yield f"Error: {exc}. Call {call.name} again with corrected arguments."
            return
        if not await self.rate_limit.allow(inbound.platform, inbound.tenant, inbound.user):
            await audit("rate_limited", masked_args)
            yield ToolResult(call_id=call.call_id, name=call.name, ok=False, summary="rate limited")
            yield "Error: this user made too many tool calls just now. Tell them to try again in a minute."
            return

        if tool.acting:
            step = f"confirm:{call.call_id}"
            yield Status(text=text("progress_confirm", turn.language), step=step)
            from_document = suggested_by_document(tool.name, turn.text, turn.history, [p.text for p in turn.passages])
            proposal = await self._propose(turn, tool, args, masked_args, from_document)
            await audit("proposed", masked_args, proposal_id=proposal.id)
            origin = "document" if from_document else "user"
            if from_document:
                log.warning("tool_suggested_by_document", tool=tool.name, request_id=turn.reply_id)
            yield NeedsConfirmation(proposal_id=proposal.id, tool=tool.name, summary=proposal.summary,
                                    expires_at=proposal.expires_at, origin=origin)
            yield Status(text=text("progress_confirm", turn.language), step=step, state="done")
            yield ("Proposed to the user, waiting for their confirmation: nothing has been done yet. "
                   "Do not claim it was done.")
            return

        step, label = f"tool:{call.call_id}", text(tool.progress_key, turn.language, tool=tool.name)
        yield Status(text=label, step=step)
        ctx = ToolContext(inbound=inbound, conversation=inbound.conversation_key, language=turn.language,
                          reply_id=turn.reply_id, services=self.services, masked_args=masked_args,
                          history=turn.history, summary=turn.summary, passages=turn.passages, mask=turn.mask,
                          turn=turn)
        status, output, latency = await self._run(tool, args, ctx)
        if output.pending is not None and status == "ok":
            status = "pending"
            self.follow_ups.start(inbound, tool.name, output.pending, language=turn.language,
                                  request_id=turn.reply_id, conversation=inbound.conversation_key)
        await audit(status, masked_args, latency)
        if status == "timeout":
            yield Status(text=text("tool_timeout", turn.language, tool=tool.name), step=step, state="failed")
        else:
            yield Status(text=label, step=step, state="done" if status in ("ok", "pending") else "failed")
        masked = await turn.mask(output.content)
        yield ToolResult(call_id=call.call_id, name=call.name, ok=status in ("ok", "pending"),
                         summary=masked[:RESULT_SUMMARY_CHARS])
        yield masked

    async def _propose(self, turn: Turn, tool: Tool, args: BaseModel, masked_args: dict[str, Any],
                       from_document: bool) -> Proposal:
        inbound = turn.inbound
        # Defaults come from the validated model; values the model wrote stay masked: nothing real is stored.
        params = _Params(None, {**args.model_dump(mode="json"), **masked_args, "tool": tool.name})
        summary = text(tool.confirm_key, turn.language).format_map(params)
        if from_document:
            summary = text("tool_suggested_by_document", turn.language) + "\n" + summary
        return await self.proposals.create(
            platform=inbound.platform, tenant=inbound.tenant, bot=inbound.bot, user=inbound.user,
            conversation=inbound.conversation_key, channel=inbound.channel, thread=inbound.thread, tool=tool.name,
            args=masked_args, summary=summary, language=turn.language, request_id=turn.reply_id,
        )

    async def _run(self, tool: Tool, args: BaseModel, ctx: ToolContext) -> tuple[AuditStatus, ToolOutput, float]:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(tool.timeout_s or self.settings.timeout_s):
                output = await tool.function(args, ctx)
            status: AuditStatus = "ok" if output.ok else "error"
        except TimeoutError:
            status = "timeout"
            output = ToolOutput(content=f"Error: the tool '{tool.name}' timed out and was stopped; its result is "
                                        "unknown. Tell the user it did not finish and suggest trying later.", ok=False)
        except Exception as exc:
            log.warning("tool_failed", tool=tool.name, request_id=ctx.reply_id, error=type(exc).__name__)
            status = "error"
            output = ToolOutput(content=f"Error: the tool '{tool.name}' failed. Tell the user it did not work.",
                                ok=False)
        return status, output, (time.perf_counter() - started) * 1000

    # -- Confirm / Cancel presses

    async def resolve(self, turn: Turn, action: Action, history: list[dict[str, Any]] | None = None,
                      summary: str = "") -> str:
        """Confirm or cancel a proposal for the user who pressed; the reply text for them."""
        inbound = turn.inbound
        proposal = await self.proposals.get(action.ref)

        async def audit(status: AuditStatus, p: Proposal | None, latency_ms: float = 0.0, detail: str = "") -> None:
            await self.audit.record(platform=inbound.platform, tenant=inbound.tenant, user=inbound.user,
                                    tool=p.tool if p else "-", status=status, args=p.args if p else None,
                                    latency_ms=latency_ms, request_id=turn.reply_id,
                                    conversation=p.conversation if p else inbound.conversation_key,
                                    proposal_id=action.ref[:64], detail=detail)

        if proposal is None:
            await audit("expired", None, detail=action.kind)
            return text("tool_expired", turn.language)
        if not proposal.belongs_to(inbound.platform, inbound.tenant, inbound.user):
            await audit("refused", proposal, detail=action.kind)
            return text("tool_not_yours", turn.language)
        if not await self.proposals.claim(proposal.id):  # pressed twice, or another worker took it
            await audit("expired", proposal, detail="already_claimed")
            return text("tool_expired", turn.language)
        if action.kind == "cancel":
            await audit("cancelled", proposal)
            return text("tool_cancelled", turn.language)

        tool = self.registry.get(proposal.tool)
        if tool is None or not self.allowed(turn, proposal.tool):  # switched off since it was proposed
            await audit("denied", proposal)
            return text("tool_failed", turn.language, tool=proposal.tool)
        try:
            args = tool.validate(_map_strings(proposal.args, turn.unmask))
        except ArgumentsError as exc:
            await audit("invalid", proposal, detail=str(exc))
            return text("tool_failed", turn.language, tool=proposal.tool)
        ctx = ToolContext(inbound=inbound, conversation=proposal.conversation, language=turn.language,
                          reply_id=turn.reply_id, services=self.services, masked_args=proposal.args,
                          history=history or [], summary=summary, passages=turn.passages, mask=turn.mask, turn=turn)
        status, output, latency = await self._run(tool, args, ctx)
        if output.pending is not None and status == "ok":
            status = "pending"
            self.follow_ups.start(inbound, tool.name, output.pending, language=turn.language,
                                  request_id=turn.reply_id, conversation=proposal.conversation)
        await audit(status, proposal, latency, detail="confirmed")
        turn.used_tools = True
        if status == "timeout":
            return text("tool_timeout", turn.language, tool=tool.name)
        if status == "error":
            return text("tool_failed", turn.language, tool=tool.name)
        return output.reply or output.content
