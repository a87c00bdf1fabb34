"""Knowledge base errors (operator-facing: the CLI prints them)."""

from __future__ import annotations

import re

from core.errors import DeskmateError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}[a-z0-9]$")


class KnowledgeError(DeskmateError):
    code = "knowledge_error"


class ModelMismatch(KnowledgeError):
    """A collection was built with another embedding model; vectors from two models never mix."""


def check_collection_name(name: str) -> str:
    if not _NAME.match(name):
        raise KnowledgeError(
            f"bad collection name {name!r}: 2-62 characters, lowercase letters, digits, '-' or '_'"
        )
    return name
