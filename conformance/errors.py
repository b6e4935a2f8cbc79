"""Errors a store raises under an injected fault, and the harness's own control signals."""

from __future__ import annotations

__all__ = [
    "StoreUnavailable",
    "StoreTimeout",
    "HarnessSignal",
    "Crashed",
    "SubjectError",
    "UsageError",
]


class StoreUnavailable(ConnectionError):
    """The store is down: the call did nothing."""


class StoreTimeout(TimeoutError):
    """The call timed out: it may or may not have taken effect."""


class HarnessSignal(BaseException):
    """Control flow of the harness; a BaseException so that subjects catching Exception
    cannot swallow it (the CrossHair convention)."""


class Crashed(HarnessSignal):
    """Raised inside a crashed instance's threads so that they unwind and vanish."""


class SubjectError(Exception):
    """A subject method raised an exception that is neither a store fault nor ours."""

    def __init__(self, message: str, operation: str, original: BaseException | None = None):
        super().__init__(message, operation, original)
        self.message = message
        self.operation = operation
        self.original = original

    def __str__(self) -> str:
        return self.message


class UsageError(Exception):
    """Bad input from the user: one clear line, exit code 2."""
