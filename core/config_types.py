"""Setting types shared by the settings models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            import json

            return json.loads(value)
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# A list given in env as "a,b,c" (or a JSON list), in YAML as a list.
CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
