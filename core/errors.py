"""A small error hierarchy. `code` maps to a user-facing text in core.texts."""

from __future__ import annotations


class DeskmateError(Exception):
    """Base class. `code` picks the user-facing message; `str(self)` is for logs (no user text)."""

    code = "internal"


class ConfigError(DeskmateError):
    code = "config"


class InputRejected(DeskmateError):
    """The message itself is not acceptable (too long, empty, unsupported content)."""

    code = "input_rejected"

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


class PolicyBlocked(DeskmateError):
    """A stage refused to continue for a policy reason (PII analyzer failure, rate limit...)."""

    code = "policy_blocked"

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


class ModelUnavailable(DeskmateError):
    """No model is configured, or every model in the chain failed or is circuit-broken."""

    code = "model_unavailable"


class StreamInterrupted(DeskmateError):
    """The model stopped in the middle of an answer after text was already shown."""

    code = "stream_interrupted"
