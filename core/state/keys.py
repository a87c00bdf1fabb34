"""Every Redis key Deskmate writes is built here, so scopes (tenant, bot, conversation) are explicit."""

from __future__ import annotations

PREFIX = "dm"


def key(*parts: str) -> str:
    """`dm:part1:part2...` — parts must not be empty."""
    if not all(parts):
        raise ValueError(f"empty Redis key part in {parts!r}")
    return ":".join((PREFIX, *parts))
