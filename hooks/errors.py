"""The project's exception classes: what went wrong decides what Metacontroller is told."""

from __future__ import annotations


class HookError(Exception):
    """Base class for errors raised while answering a hook."""


class InvalidSpec(HookError):
    """The parent's spec cannot be honoured: report it in status, keep the children, do not retry.

    `reason` is a CamelCase condition reason; `message` is shown to the user by `kubectl describe`.
    """

    def __init__(self, message: str, reason: str = "InvalidSpec") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class PolicyViolation(InvalidSpec):
    """A child would break the server's security policy; `rule` names the rule broken."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"security policy rule {rule!r}: {message}", reason="PolicyViolation")
        self.rule = rule


class TransientError(HookError):
    """Something outside the parent is not ready yet: answer 5xx so Metacontroller retries."""


class BadRequest(HookError):
    """The HTTP request itself is unusable; answered with a 4xx JSON error and no side effects."""

    def __init__(self, status: int, error: str, message: str, details: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details
