"""Errors a store raises under an injected fault, the signals a run ends with, and the
harness's own control signals.

Three families, told apart by their base class:

* store failures (`StoreUnavailable`, `StoreTimeout`): what a subject sees from a store
  under a fault; builtins' subclasses, so a subject catches them as `ConnectionError` /
  `TimeoutError` without importing the harness;
* the ends of a run (`ContractViolation`, `LivenessFailure`, `Inconclusive`): how a run
  stops when its verdict is known; `conformance.outcome` turns them into a verdict;
* harness signals (`HarnessSignal` and below): control flow, `BaseException`s so that a
  subject catching `Exception` cannot swallow them (the CrossHair convention).
"""

from __future__ import annotations

from model import ErrorPlace, Violation

__all__ = [
    "StoreUnavailable",
    "StoreTimeout",
    "HarnessSignal",
    "Crashed",
    "SubjectError",
    "UsageError",
    "SubjectBuildError",
    "ContractViolation",
    "LivenessFailure",
    "Inconclusive",
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


class SubjectBuildError(UsageError):
    """The factory could not build a subject.

    Attributes:
        place: where the factory's exception came from (`model.ErrorPlace`), when it
            raised one in code of the subject's own; else None.
    """

    def __init__(self, message: str, place: ErrorPlace | None = None):
        super().__init__(message)
        self.place = place


class ContractViolation(AssertionError):
    """The subject did something its policy's contract cannot explain.

    An AssertionError, so that Hypothesis shrinks the example that raised it.

    Attributes:
        violation: the clause broken, with what was expected and what was observed.
        script: the runnable steps that reproduce it (`conformance.script`).
    """

    def __init__(self, violation: Violation, script: str = ""):
        super().__init__(violation.describe())
        self.violation = violation
        self.script = script


class LivenessFailure(HarnessSignal):
    """A subject call or worker hung. A BaseException, so Hypothesis does not shrink it:
    every replay would cost another timeout. The counterexample is reported unshrunk."""

    def __init__(self, violation: Violation, script: str):
        super().__init__(violation.describe())
        self.violation = violation
        self.script = script


class Inconclusive(HarnessSignal):
    """The checker's budget ran out: the verdict is UNKNOWN (never a pass)."""
