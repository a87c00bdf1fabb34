"""Test helpers: a real runtime (embedded Redis, real stages) wired to the fake LLM server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bots.composition import Runtime, open_runtime
from bots.settings import load_settings
from core.admin import AdminContext
from core.audience import Audience, Role
from core.models import Final, Inbound, ReplyEvent, TextDelta
from tests.fakes.llm_server import FakeLLM

PRIMARY = "openai/gpt-4o-mini"
FALLBACK = "openai/gpt-4o"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def llm_values(llm: FakeLLM, models: Sequence[str] = (PRIMARY,), **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "models": [{"model": m, "api_base": llm.base_url, "api_key": "sk-test"} for m in models],
        "timeout_s": 5.0, "first_token_timeout_s": 2.0, "num_retries": 0,
    }
    values.update(extra)
    return values


@asynccontextmanager
async def running(data_dir: Path, fake: FakeLLM | None = None, models: Sequence[str] = (PRIMARY,),
                  **overrides: Any) -> AsyncIterator[Runtime]:
    """A full runtime over `data_dir`; with `fake`, its models point at the fake LLM server."""
    values: dict[str, Any] = {"data_dir": data_dir}
    if fake is not None:
        values["llm"] = llm_values(fake, models)
    settings = load_settings(**_merge(values, overrides))
    async with open_runtime(settings) as runtime:
        yield runtime


def inbound(text: str, *, bot: str = "helpdesk", user: str = "U1", channel: str = "C1", tenant: str = "T1",
            platform: str = "console", role: Role | None = None, access_groups: Sequence[str] = (),
            **fields: Any) -> Inbound:
    """A message as an edge function would make it; `is_admin=True` without a role means a deployment admin."""
    if role is None:
        role = "deployment_admin" if fields.get("is_admin") else "member"
    who = Audience(tenant=tenant, user=user, role=role, channel=channel, access_groups=tuple(access_groups),
                   place="dm" if fields.get("is_private", True) else "public_channel")
    fields["is_admin"] = who.is_admin
    return Inbound(platform=platform, bot=bot, tenant=tenant, channel=channel, user=user, text=text, audience=who,
                   **fields)


def admin_context(runtime: Runtime, *, role: Role = "deployment_admin", platform: str = "test", tenant: str = "T1",
                  channel: str = "C1", user: str = "UADMIN", bot: str = "helpdesk") -> AdminContext:
    """An admin command's context as the edge would make it for `role`."""
    who = Audience(tenant=tenant, user=user, role=role, channel=channel)
    return AdminContext(platform=platform, audience=who, profile=runtime.profiles[bot])


async def ask(runtime: Runtime, message: Inbound | str, **fields: Any) -> list[ReplyEvent]:
    msg = inbound(message, **fields) if isinstance(message, str) else message
    return [event async for event in runtime.engine.handle(msg)]


def streamed_text(events: Sequence[ReplyEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def final_of(events: Sequence[ReplyEvent]) -> Final:
    last = events[-1]
    assert isinstance(last, Final), f"expected a Final last, got {last!r}"
    return last
