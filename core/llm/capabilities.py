"""What one model endpoint can do, with sensible defaults by provider and by where it runs.

An endpoint's own settings win; then what litellm knows about the model (its context window, whether it calls
tools); then defaults by place: a *local* endpoint (api_base on localhost, a private or link-local address, a
single-label host like `ollama`, or a provider that always runs on-premises) needs no key and gets a first-token
timeout that fits a slow prefill on a small CPU, and does not get tool schemas unless litellm knows the model
calls tools (small local models write tool calls as text instead).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from core.llm.settings import LLMSettings, ModelEndpoint, ToolSupport

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

# litellm sends this when the server needs no key: litellm's OpenAI-compatible providers refuse to start a call
# without one ("Missing credentials"), although the server never reads it.
NO_KEY = "sk-no-key-needed"
LOCAL_FIRST_TOKEN_TIMEOUT_S = 120.0  # prefill of a ~1,400-token prompt on 2 CPU cores takes 10-60 s
HOSTED_FIRST_TOKEN_TIMEOUT_S = 15.0  # a hosted model that has not started answering by now is hanging
LOCAL_CONTEXT_WINDOW = 4096
# Providers that run on the operator's own machines: no key, even without an api_base.
LOCAL_PROVIDERS = {"ollama", "ollama_chat", "lm_studio", "llamafile", "hosted_vllm", "vllm", "xinference"}
LOCAL_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa", ".localhost")


@dataclass(frozen=True)
class Capabilities:
    needs_key: bool
    tools: ToolSupport
    context_window: int | None  # input tokens; None = unknown
    max_tokens: int
    first_token_timeout_s: float
    local: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _litellm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def provider(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else "openai"


def is_local_address(api_base: str | None) -> bool:
    """True for a base URL on this machine or a private network (where a key-less server usually runs)."""
    if not api_base:
        return False
    host = (urlsplit(api_base if "//" in api_base else f"http://{api_base}").hostname or "").lower()
    if not host:
        return False
    if host == "localhost" or host.endswith(LOCAL_SUFFIXES) or host == "host.docker.internal":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a single-label name: a compose service or a LAN host ("ollama", "gpu-box")
    return ip.is_loopback or ip.is_private or ip.is_link_local


def is_local(ep: ModelEndpoint) -> bool:
    if ep.api_base:
        return is_local_address(ep.api_base)
    return provider(ep.model) in LOCAL_PROVIDERS


def _model_info(model: str) -> dict[str, Any] | None:
    """litellm's table entry for the model, or None. An entry without a window or a price is not knowledge: the
    Router registers every deployment it is given (a local GGUF, a custom name) with empty values."""
    try:
        info = dict(_litellm().get_model_info(model))
    except Exception:  # a model litellm does not know: no info
        return None
    return info if info.get("max_input_tokens") or info.get("input_cost_per_token") else None


def knows_model(model: str) -> bool:
    """Whether litellm has this model in its table (then its token counts and prices are the model's own)."""
    return _model_info(model) is not None


def _known_tool_caller(model: str) -> bool | None:
    info = _model_info(model)
    if info is None:
        return None
    return bool(info.get("supports_function_calling"))


def resolve(ep: ModelEndpoint, settings: LLMSettings) -> Capabilities:
    local = is_local(ep)
    needs_key = ep.needs_key if ep.needs_key is not None else not local and provider(ep.model) not in LOCAL_PROVIDERS
    tools: ToolSupport
    if ep.tools is not None:
        tools = ep.tools
    else:
        known = _known_tool_caller(ep.model)
        tools = "native" if known or (known is None and not local) else "none"
    info = _model_info(ep.model) or {}
    window = ep.context_window or info.get("max_input_tokens") or (LOCAL_CONTEXT_WINDOW if local else None)
    if ep.first_token_timeout_s is not None:
        first = ep.first_token_timeout_s
    elif settings.first_token_timeout_s is not None:  # (not model_fields_set: settings fill in every default)
        first = settings.first_token_timeout_s
    else:
        first = LOCAL_FIRST_TOKEN_TIMEOUT_S if local else HOSTED_FIRST_TOKEN_TIMEOUT_S
    return Capabilities(
        needs_key=needs_key, tools=tools, context_window=int(window) if window else None,
        max_tokens=ep.max_tokens or settings.max_tokens, first_token_timeout_s=first, local=local,
    )


def key_for(ep: ModelEndpoint, caps: Capabilities) -> str | None:
    """The key litellm is given: the configured one; a placeholder for a server that needs none; else None
    (litellm then reads the provider's usual environment variable)."""
    if ep.api_key is not None and ep.api_key.get_secret_value():
        return ep.api_key.get_secret_value()
    return None if caps.needs_key else NO_KEY


def missing_key(ep: ModelEndpoint, caps: Capabilities) -> bool:
    """True when the endpoint needs a key and none is configured here or in the provider's environment
    variable: litellm would refuse the call before sending anything, which says nothing about the model."""
    if not caps.needs_key or key_for(ep, caps) is not None:
        return False
    try:
        found = _litellm().validate_environment(model=ep.model)
    except Exception:
        return False
    return not found.get("keys_in_environment", True)
