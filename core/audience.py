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
