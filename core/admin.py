"""Admin commands, platform-neutral: `help`, `features`, `enable`/`disable`/`reset`, `stats`.

Slack's `/deskmate ...` and Telegram's `/features`, `/enable ...` both end up here. The platform's edge
function says who is asking (core.audience.Audience); this module decides by role what they may change:
deployment admins anything, a Slack workspace admin their workspace, a Telegram chat admin only their own chat and
never `pii` (nor a feature the deployment locked). `stats` and the change history show only what the caller
administers. Every change, `limit` included, is audited: who, when, where, old -> new.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.audience import Audience
from core.flags import FeatureFlags, FlagError
from core.profile import BotProfile
from core.texts import has_text, render, text

StatsSource = Callable[[str, str], Awaitable[dict[str, Any]]]  # (platform, tenant) -> named numbers
AdminHandler = Callable[["AdminContext", list[str]], Awaitable["AdminReply"]]  # extra admin-only commands
CHANNEL_REF = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$|^#?([A-Za-z0-9_-]+)$")
WORKSPACE_WORDS = {"workspace", "all", "everywhere", "bot"}


# Features only a workspace (or deployment) admin may change: a chat admin never switches masking off.
WORKSPACE_ONLY_FEATURES = frozenset({"pii"})


@dataclass(frozen=True)
class AdminContext:
    platform: str
    audience: Audience
    profile: BotProfile
    locale: str | None = None
    command_prefix: str = "/deskmate "  # how the user types commands here (Telegram: "/")

    @property
    def tenant(self) -> str:
        return self.audience.tenant

    @property
    def channel(self) -> str:
        return self.audience.channel

    @property
    def user(self) -> str:
        return self.audience.user

    @property
    def is_admin(self) -> bool:
        return self.audience.is_admin


@dataclass(frozen=True)
class AdminReply:
    text: str
    ok: bool = True
    changed: bool = False
    audit: dict[str, Any] | None = None  # what changed (old -> new), recorded by AdminCommands


class AdminCommands:
    def __init__(self, flags: FeatureFlags, stats: Sequence[StatsSource] = ()) -> None:
        self.flags = flags
        self.stats_sources = list(stats)
        self.extra: dict[str, tuple[AdminHandler, str]] = {}

    def add_stats(self, source: StatsSource) -> None:
        self.stats_sources.append(source)

    def add_command(self, name: str, handler: AdminHandler, help_line: str) -> None:
        """An extra admin-only command (e.g. `limit`), owned by another module."""
        self.extra[name] = (handler, help_line)

    async def handle(self, ctx: AdminContext, command_line: str) -> AdminReply:
        words = command_line.strip().split()
        command = words[0].lower() if words else "help"
        args = words[1:]
        if command == "help":
            return AdminReply(self._help(ctx))
        if command == "features":
            return AdminReply(await self._features(ctx))
        if command in ("enable", "disable", "reset"):
            if not ctx.is_admin:
                return AdminReply(text("not_admin", ctx.locale), ok=False)
            reply = await self._change(ctx, command, args)
        elif command == "stats" or command in self.extra:
            # Tenant-wide numbers and limits: workspace admins (and deployment admins) only.
            if not ctx.audience.at_least("workspace_admin"):
                return AdminReply(text("not_admin_workspace", ctx.locale), ok=False)
            if command == "stats":
                return AdminReply(await self._stats(ctx))
            reply = await self.extra[command][0](ctx, args)
        else:
            return AdminReply(text("unknown_command", ctx.locale, command=command), ok=False)
        if reply.changed and reply.audit is not None:
            await self.flags.record(ctx.platform, ctx.tenant, {
                **reply.audit, "by": ctx.user, "role": ctx.audience.role, "where": ctx.channel, "at": time.time()})
        return reply

    def _help(self, ctx: AdminContext) -> str:
        p, lang = ctx.command_prefix, ctx.locale
        return "\n".join([
            *(text(k, lang, p=p) for k in ("admin_help_title", "admin_help_features", "admin_help_enable",
                                          "admin_help_disable", "admin_help_reset", "admin_help_stats")),
            *(text(line, lang, p=p) if has_text(line) else f"`{p}{name}` {line}"
              for name, (_, line) in self.extra.items()),
            text("admin_help_feature_list", lang, features=", ".join(f"`{f}`" for f in sorted(self.flags.known))),
        ])

    async def _features(self, ctx: AdminContext) -> str:
        states = await self.flags.effective(ctx.profile, ctx.platform, ctx.tenant, ctx.channel)
        lang = ctx.locale
        lines = [text("admin_features_title", lang)]
        for state in states.values():
            mark = text("admin_on" if state.on else "admin_off", lang)
            origin = text(f"admin_origin_{state.source}", lang, bot=ctx.profile.name)
            who = text("admin_changed_by", lang, by=state.by, at=_when(state.at)) if state.by and state.at else ""
            lines.append(f"• `{state.feature}`: *{mark}* ({origin}{who})")
        history = await self.flags.history(ctx.platform, ctx.tenant, limit=50)
        if not ctx.audience.at_least("workspace_admin"):  # a chat admin or member sees this chat's changes only
            history = [h for h in history if h.get("scope") == f"channel:{ctx.channel}"]
        if history:
            lines.append(text("admin_recent_changes", lang))
            lines.extend(
                f"• {_when(h.get('at'))} {h.get('by')}: {h.get('action')} `{h.get('feature') or h.get('limit')}` "
                f"({h.get('scope')}){_old_new(h)}"
                for h in history[:5]
            )
        return "\n".join(lines)

    async def _change(self, ctx: AdminContext, command: str, args: list[str]) -> AdminReply:
        lang = ctx.locale
        if not args:
            return AdminReply(text("admin_usage", lang, p=ctx.command_prefix, command=command), ok=False)
        feature = args[0].lower()
        channel: str | None = ctx.channel
        scope_label = text("admin_scope_channel", lang)
        if len(args) > 1:
            target = args[1]
            if target.lower() in WORKSPACE_WORDS:
                channel, scope_label = None, text("admin_scope_workspace", lang)
            else:
                match = CHANNEL_REF.match(target)
                if not match:
                    return AdminReply(text("admin_bad_target", lang, target=target), ok=False)
                channel = match.group(1) or match.group(2)
                scope_label = f"<#{channel}>" if ctx.platform == "slack" else text("admin_scope_chat", lang,
                                                                                   channel=channel)
        audience = ctx.audience
        if not audience.may_change("channel" if channel else "workspace", channel):
            return AdminReply(text("not_admin_scope", ctx.locale), ok=False)
        if feature in WORKSPACE_ONLY_FEATURES and not audience.at_least("workspace_admin"):
            return AdminReply(text("not_admin_feature", ctx.locale, feature=feature), ok=False)
        if feature not in self.flags.known:
            known = ", ".join(f"`{f}`" for f in sorted(self.flags.known))
            return AdminReply(text("admin_unknown_feature", lang, feature=feature, known=known), ok=False)
        before = await self._value(ctx, feature, channel)
        try:
            if command == "reset":
                await self.flags.reset(ctx.platform, ctx.tenant, feature, ctx.user, channel)
                after = await self._value(ctx, feature, channel)
                return AdminReply(text("admin_reset_done", lang, feature=feature, scope=scope_label), changed=True,
                                  audit=_flag_audit("reset", feature, channel, before, after))
            state = await self.flags.set(ctx.platform, ctx.tenant, feature, command == "enable", ctx.user, channel)
        except FlagError:  # the only other refusal: a feature the deployment locked
            return AdminReply(text("admin_locked_feature", lang, feature=feature), ok=False)
        return AdminReply(text("admin_set_done", lang, feature=feature, scope=scope_label,
                               state=text("admin_on" if state.on else "admin_off", lang)), changed=True,
                          audit=_flag_audit(command, feature, channel, before, "on" if state.on else "off"))

    async def _value(self, ctx: AdminContext, feature: str, channel: str | None) -> str:
        states = await self.flags.effective(ctx.profile, ctx.platform, ctx.tenant, channel or "")
        state = states.get(feature)
        return "?" if state is None else ("on" if state.on else "off")

    async def _stats(self, ctx: AdminContext) -> str:
        lines = [text("admin_stats_title", ctx.locale)]
        for source in self.stats_sources:  # a name that is a text key is shown in the reader's language
            for name, value in (await source(ctx.platform, ctx.tenant)).items():
                lines.append(f"• {render(name, ctx.locale)}: {render(value, ctx.locale)}")
        if len(lines) == 1:
            lines.append(text("admin_stats_none", ctx.locale))
        return "\n".join(lines)


def _flag_audit(action: str, feature: str, channel: str | None, old: str, new: str) -> dict[str, Any]:
    return {"action": action, "feature": feature, "scope": f"channel:{channel}" if channel else "workspace",
            "old": old, "new": new}


def _old_new(entry: dict[str, Any]) -> str:
    return f": {entry['old']} → {entry['new']}" if "old" in entry and "new" in entry else ""


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at)) if at else "?"
