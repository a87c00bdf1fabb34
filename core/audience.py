"""Who is asking, where, and what they may read and change: the one audience model every turn carries.

Each platform's edge function computes an `Audience` once per event (adapters/*/edge.py); nothing downstream
decides access from a raw id. Retrieval, the semantic cache, memory, escalation transcripts, reports, stats and
admin commands all ask the audience.

- `tenant`: the Slack workspace (or Enterprise Grid org), the configured Telegram deployment tenant, "local".
- `role`: deployment admin (configured ids) > workspace admin (a Slack workspace's admin) > chat admin (a Telegram
  group's administrator: their own chat only) > member (an employee) > customer (Telegram by default).
- `place`: where the message was written; answers in a shared place use only what that place is granted.
- `access_groups`: the document groups this audience may read besides public ones ("*"). In a DM they are the
  user's groups widened by their mapping; in a channel or group, only what the channel is granted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

from core.config_types import CommaList

PUBLIC = "*"  # the access group of documents everyone may read

Role = Literal["deployment_admin", "workspace_admin", "chat_admin", "member", "customer"]
Place = Literal["dm", "private_channel", "public_channel", "group", "forum_topic", "console"]

_RANK: dict[str, int] = {"customer": 0, "member": 1, "chat_admin": 2, "workspace_admin": 3, "deployment_admin": 4}
SHARED_PLACES = frozenset({"private_channel", "public_channel", "group", "forum_topic"})


class Audience(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str
    user: str
    role: Role = "customer"  # least privilege unless the edge says otherwise
    place: Place = "dm"
    channel: str = ""
    access_groups: tuple[str, ...] = ()

    @field_validator("access_groups")
    @classmethod
    def _canonical(cls, groups: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({g for g in groups if g and g != PUBLIC}))

    # -- reading

    @property
    def readable(self) -> tuple[str, ...]:
        """Every access group this audience may read, public included."""
        return (*self.access_groups, PUBLIC)

    def may_read(self, group: str) -> bool:
        return group == PUBLIC or group in self.access_groups

    def may_read_all(self, groups: Iterable[str]) -> bool:
        return all(self.may_read(g) for g in groups)

    @property
    def key(self) -> str:
        """A stable name of what this audience may read (the semantic cache's scope part)."""
        return ",".join(self.access_groups) or PUBLIC

    @property
    def shared_place(self) -> bool:
        return self.place in SHARED_PLACES

    # -- changing

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]

    @property
    def is_admin(self) -> bool:
        """Administers something (the bot, this workspace, or this chat)."""
        return self.at_least("chat_admin")

    def may_change(self, scope: Literal["bot", "workspace", "channel"], channel: str | None = None) -> bool:
        """Whether this audience may change settings at `scope`: the whole deployment ("bot"), its tenant
        ("workspace"), or one channel (only its own chat for a chat admin)."""
        if self.role == "deployment_admin":
            return True
        if scope == "bot":
            return False
        if self.role == "workspace_admin":
            return True
        if self.role == "chat_admin":
            return scope == "channel" and (channel is None or channel == self.channel)
        return False


class AccessSettings(BaseModel):
    """`DESKMATE_ACCESS__*`: who administers the deployment and who reads which access groups.

    Keys name a platform identity: `slack:U0123` (a user), `slack-group:S0123` (a Slack user group),
    `telegram:123456` (a Telegram user). Env values are JSON, e.g.
    DESKMATE_ACCESS__USERS='{"slack:U0HR1": ["hr"], "slack-group:S0HR": ["hr"]}'.
    """

    model_config = ConfigDict(extra="forbid")

    deployment_admins: CommaList = []  # identities that change bot-wide settings: "slack:U1,telegram:42"
    users: dict[str, tuple[str, ...]] = {}  # identity -> access groups it reads in a DM
    telegram_tenant: str = "telegram"  # the tenant every Telegram chat belongs to (never the bot's id)


def resolve_audience(access: AccessSettings, *, platform: str, tenant: str, user: str, channel: str, place: Place,
                     platform_admin: bool = False, employee: bool = True, user_groups: Iterable[str] = (),
                     bot_groups: Iterable[str] = (), channel_groups: Iterable[str] | None = None,
                     allow_listed: bool = False) -> Audience:
    """The audience of one event, from the facts the platform's edge function gathered.

    - `platform_admin`: the platform says this user administers the place (Slack workspace admin/owner; Telegram
      chat administrator of a group). `allow_listed`: in the platform's legacy admin allow-list (= deployment admin).
    - `employee`: members of the company's own workspace (Slack) are members; others (Telegram) are customers.
    - `user_groups`: platform group ids the user belongs to (Slack user groups), mapped through `access.users`.
    - `bot_groups`: what the bot profile reads by default; `channel_groups`: what this channel is granted
      (None: nothing specific). In a shared place only the channel's grant counts (else the bot's default);
      in a DM the bot's default widened by the user's mapping. Customers read only public documents unless mapped.
    """
    identity = f"{platform}:{user}"
    if identity in access.deployment_admins or allow_listed:
        role: Role = "deployment_admin"
    elif platform_admin:
        role = "workspace_admin" if platform == "slack" else "chat_admin"
    else:
        role = "member" if employee else "customer"
    mapped = set(access.users.get(identity, ()))
    for group in user_groups:
        mapped |= set(access.users.get(f"{platform}-group:{group}", ()))
    base = set(bot_groups) if (employee or role == "deployment_admin") else set()
    if place in SHARED_PLACES:
        groups = set(channel_groups) if channel_groups is not None else base
    else:
        groups = base | mapped
    return Audience(tenant=tenant, user=user, role=role, place=place, channel=channel, access_groups=tuple(groups))
