"""The recorder of one run: what the harness observed, in the order it happened, judged by
the contract as it arrives, and written down as the runnable steps that reproduce it.

It owns

* operation ids and the Invoke / Ok / Fail events of every subject operation, whichever
  path ran it (a sequential call of `Run`, a client of a concurrent batch, the harness's
  own final flush);
* the classification of how an operation ended (`complete`): a value returned (a read
  must return `str` or None), a store failure (the operation failed; the contract judges
  a failed write as indeterminate), the subject's own error (the subject-error clause),
  or a crash that cut it short; which exceptions are store failures is
  `conformance.failures`'s decision;
* feeding the contract's monitor, and ending the run when it rejects an event
  (`ContractViolation`, `LivenessFailure`) or gives up (`Inconclusive`);
* the lines of the counterexample script (`conformance.script`).

Ordering: an event is fed the moment it is recorded, so the monitor sees the history in
observation order, and the first event it cannot explain ends the run with the steps
recorded so far: the counterexample stops where the violation showed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, Protocol

from attrs import frozen

from model import ErrorPlace, Event, Fail, Invoke, Monitor, Ok, OpKind, Violation
from model.vocabulary import READ

from conformance.errors import ContractViolation, HarnessSignal, Inconclusive, LivenessFailure
from conformance.failures import Failure, classify
from conformance.script import RunLine, render

__all__ = ["Operation", "Returned", "Raised", "CRASHED", "Recorder"]


class Clock(Protocol):
    def now(self) -> float: ...


@frozen
class Operation:
    """One subject operation as a client asked for it (`key`/`value` None where they do not apply)."""

    client: str
    kind: OpKind
    key: str | None = None
    value: str | None = None

    @property
    def call(self) -> str:
        """As the reports show it: `write('k0', 'v1')`."""
        return f"{self.kind}({', '.join(repr(a) for a in (self.key, self.value) if a is not None)})"


@frozen
class Returned:
    """The operation returned `value`."""

    value: Any


@frozen
class Raised:
    """The operation raised `error` (not a harness signal)."""

    error: BaseException


@frozen
class _Crashed:
    """The application crashed while the operation was in flight."""


CRASHED = _Crashed()


class Recorder:
    """The history of one run, its monitor, and its script.

    Example::

        recorder = Recorder(clock, header=lambda: RunLine(target="m:f", policy="write-through"))
        recorder.attach(Monitor(contract, initial))
        op = recorder.invoke(Operation("c0", "read", "k0"))
        recorder.complete(op, Operation("c0", "read", "k0"), Returned("v1"))

    Args:
        clock: timestamps every event.
        header: the `Run(...)` line of the script, asked each time a script is printed
            (the run's options may still be settling while its first subjects are built).
        locate: where a subject's exception came from (`conformance.failures.place_of`
            over the target's own code), asked only when one breaks the subject-error
            clause; default: nowhere known.
    """

    def __init__(self, clock: Clock, header: Callable[[], RunLine],
                 locate: Callable[[BaseException], ErrorPlace | None] = lambda error: None):
        self.clock = clock
        self.header = header
        self.locate = locate
        self.events: list[Event] = []
        self.lines: list[str] = []
        # None while the first subjects are built: nothing is judged before the contract
        # knows whether they are durable.
        self.monitor: Monitor | None = None
        # Set once the run has ended with a verdict (or was abandoned): it is not closed
        # politely (no subject.close()) and not finished.
        self.failed = False
        self._ops = 0
        # Steps still running, by index: their line is rendered when a script is printed
        # (a batch's schedule grows with every choice, and a violation inside the batch
        # prints the choices taken so far, which replay to it).
        self._pending: dict[int, Callable[[], str]] = {}

    # ---- the history --------------------------------------------------------------------

    def attach(self, monitor: Monitor) -> None:
        """Judge every event recorded from now on with `monitor`."""
        self.monitor = monitor

    def record(self, event: Event) -> None:
        """Append `event` to the history and feed it to the monitor.

        Raises:
            ContractViolation, LivenessFailure: the contract cannot explain it.
            Inconclusive: the monitor gave up (its budget of explanations ran out).
        """
        self.events.append(event)
        if self.monitor is None:
            return
        r = self.monitor.feed(event)
        if r is None:
            return
        if isinstance(r, Violation):
            self.violate(r)
        self.failed = True
        raise Inconclusive(r)

    def position(self) -> int:
        """How many events were recorded: where a store step falls in the history."""
        return len(self.events)

    def violate(self, violation: Violation) -> NoReturn:
        """End the run: the subject broke `violation.clause`."""
        self.failed = True
        if violation.clause == "liveness":
            raise LivenessFailure(violation, self.script())
        raise ContractViolation(violation, self.script())

    def stuck(self, violation: Violation) -> LivenessFailure:
        """The liveness failure for a call or worker that is still stuck, *returned*: the
        watchdog's thread raises it, since the stuck one cannot."""
        self.failed = True
        return LivenessFailure(violation, self.script())

    # ---- operations ---------------------------------------------------------------------

    def invoke(self, operation: Operation) -> int:
        """Record that `operation` starts now; its id, for `complete`."""
        self._ops += 1
        self.record(Invoke(self._ops, operation.client, operation.kind, operation.key, operation.value,
                           self.clock.now()))
        return self._ops

    def complete(self, op: int, operation: Operation, outcome: Returned | Raised | _Crashed,
                 *, lane: str | None = None) -> Ok | Fail:
        """Record how operation `op` ended, and judge it.

        Args:
            op: what `invoke` returned.
            operation: the operation.
            outcome: `Returned(value)`, `Raised(error)` or `CRASHED`.
            lane: the task that ran it, when that is worth naming (a concurrent batch).

        Returns:
            the Ok or Fail recorded (a Fail: a store failure, or a crash).

        Raises:
            ContractViolation: a subject error, or a read that returned neither str nor None.
        """
        if isinstance(outcome, Raised):
            error = outcome.error
            if isinstance(error, (Inconclusive, LivenessFailure)):
                # A verdict of the harness's own, raised inside a batch's client thread
                # (the exec bridge finds a subject nondeterministic there): it carries its
                # verdict out; it is no error of the subject's.
                raise error
            # Any other harness signal here came from a client thread of a batch (a crash
            # unwinds as CRASHED, not as this): the subject let one of ours out, its error.
            if isinstance(error, HarnessSignal) or classify(error) is Failure.SUBJECT:
                said = f"{lane}: " if lane else ""
                self.violate(Violation("subject-error", operation.key, f"{operation.call} returns or raises a store error",
                                       f"{said}it raised {type(error).__name__}: {error}", place=self.locate(error)))
            event: Ok | Fail = Fail(op, f"{type(error).__name__}: {error}", self.clock.now())
        elif isinstance(outcome, _Crashed):
            event = Fail(op, "crashed", self.clock.now())
        else:
            value = outcome.value
            if operation.kind == READ and value is not None and not isinstance(value, str):
                self.violate(Violation("subject-error", operation.key, "read returns str or None",
                                       f"{operation.call} returned {value!r} ({type(value).__name__})"))
            event = Ok(op, value if operation.kind == READ else None, self.clock.now())
        self.record(event)
        return event

    # ---- the script ---------------------------------------------------------------------

    def line(self, text: str) -> int:
        """Add a step to the script (as `conformance.script.step` prints it); its index."""
        self.lines.append(text)
        return len(self.lines) - 1

    def pending_line(self, text: Callable[[], str]) -> int:
        """Add a step whose arguments grow while it runs (a batch's schedule): `text()`
        is asked whenever a script is printed, until `replace_line` fills it in. Its index."""
        index = self.line("")
        self._pending[index] = text
        return index

    def replace_line(self, index: int, text: str) -> None:
        """Fill in a step whose arguments were known only after it ran (a batch's schedule)."""
        self._pending.pop(index, None)
        self.lines[index] = text

    def script(self) -> str:
        """The runnable counterexample of everything recorded so far."""
        lines = self.lines
        if self._pending:
            lines = [self._pending[i]() if i in self._pending else line for i, line in enumerate(lines)]
        return render(self.header(), lines)
