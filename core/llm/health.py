"""Telling a broken model configuration from a model that is down.

A provider that times out, rate-limits or answers 5xx is *unavailable*: the breaker counts it and the user gets the
retrieval-only answer. A wrong API key, an unknown model string, a wrong endpoint path or a programming error in the
provider layer (TypeError, AttributeError...) will never heal by waiting: it is a *configuration problem*. It is
logged at error level with the exception's class and message, `/readyz` reports the process not ready with the
reason, admins are told in their replies, and `deskmate doctor` names it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

_PROGRAMMING = (TypeError, AttributeError, KeyError, ImportError, NameError)
MESSAGE_CHARS = 300  # the provider's message, cut (it never carries our key: litellm masks it)


def config_problem(exc: BaseException) -> str | None:
    """What is misconfigured, if `exc` says so; None for an ordinary outage (timeout, 429, 5xx, refused)."""
    import litellm

    message = " ".join(str(exc).split())[:MESSAGE_CHARS]
    name = type(exc).__name__
    if isinstance(exc, _PROGRAMMING):
        return f"{name} in the provider layer: {message} (a Deskmate/litellm incompatibility: run `make canary`)"
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return f"{name}: the provider refused the API key ({message}); check DESKMATE_LLM__API_KEY"
    if isinstance(exc, litellm.NotFoundError):
        return f"{name}: no such model or endpoint ({message}); check the model string and DESKMATE_LLM__API_BASE"
    if isinstance(exc, litellm.BadRequestError) and "provider" in message.lower() and "not provided" in message.lower():
        return (f"{name}: litellm does not know this model string ({message}); "
                "use provider/model, e.g. openai/gpt-4o-mini")
    return None


@dataclass
class ModelHealth:
    """Configuration problems per model name, cleared by the model's next success."""

    problems: dict[str, tuple[str, float]] = field(default_factory=dict)
    last_failure: dict[str, str] = field(default_factory=dict)  # the latest failure of any kind, per model

    def record(self, model: str, problem: str) -> None:
        self.problems[model] = (problem, time.time())

    def failed(self, model: str, exc: BaseException) -> None:
        self.last_failure[model] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:MESSAGE_CHARS]}"

    def clear(self, model: str) -> None:
        self.problems.pop(model, None)
        self.last_failure.pop(model, None)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return "; ".join(f"{model}: {problem}" for model, (problem, _) in sorted(self.problems.items()))
