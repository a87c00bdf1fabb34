"""Hostile text made safe to carry: lone UTF-16 surrogates and control characters removed.

A JSON body may spell a lone surrogate (`"\\ud800"`): Python decodes it into a `str` that cannot be encoded
to UTF-8 again, so serializing the message for the queue (or a log line, or the model request) fails and the
message is never answered. Control characters (NUL, ESC, BEL...) are dropped too; tab, newline and carriage
return stay. Everything else, every language and emoji included, is left as it is.
"""

from __future__ import annotations

import re
from typing import Any

from core.models import Inbound

# C0 controls except \t \n \r, DEL, C1 controls, and every surrogate code point (only lone ones survive decoding).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    return _UNSAFE.sub("", value)


def clean_value(value: Any) -> Any:
    """`value` with every string in it (dict keys too, nested lists and tuples) cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean_value(v) for v in value)
    return value


def is_clean(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSAFE.search(value) is None
    if isinstance(value, dict):
        return all(is_clean(k) and is_clean(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(is_clean(v) for v in value)
    return True


def clean_inbound(inbound: Inbound) -> Inbound:
    """The same message with its text (and every other string it carries) cleaned; itself when already clean."""
    data = inbound.model_dump()
    if is_clean(data):
        return inbound
    return Inbound.model_validate(clean_value(data))
