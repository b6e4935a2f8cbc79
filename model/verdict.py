"""Verdicts of a check: CONFORMS, VIOLATES (with the clause and the evidence) or UNKNOWN.

UNKNOWN is never a pass: a budget ran out, a timeout struck, or the search was cut.
"""

from __future__ import annotations

from typing import Literal

from attrs import frozen

from model.clauses import CLAUSES
from model.events import Event

__all__ = ["Status", "CONFORMS", "VIOLATES", "UNKNOWN", "Violation", "Verdict"]

Status = Literal["CONFORMS", "VIOLATES", "UNKNOWN"]
CONFORMS: Status = "CONFORMS"
VIOLATES: Status = "VIOLATES"
UNKNOWN: Status = "UNKNOWN"


@frozen
class Violation:
    """The first observation no explanation survives.

    Attributes:
        clause: the id of the clause it breaks (see model.clauses).
        key: the key it concerns, when it concerns one.
        expected: what the contract allowed at that point.
        observed: what the harness saw.
        event: the event that broke it (None for end-of-run checks such as convergence).
    """

    clause: str
    key: str | None
    expected: str
    observed: str
    event: Event | None = None

    @property
    def title(self) -> str:
        c = CLAUSES.get(self.clause)
        return c.title if c else self.clause

    def describe(self) -> str:
        where = f" on key {self.key!r}" if self.key is not None else ""
        at = f" at {self.event!r}" if self.event is not None else ""
        return (
            f"{self.clause}{where}{at}\n  expected: {self.expected}\n  observed: {self.observed}"
        )


@frozen
class Verdict:
    """The outcome of checking a history (or a whole run) against a contract.

    Attributes:
        status: CONFORMS, VIOLATES or UNKNOWN.
        violation: the evidence, when VIOLATES.
        relaxations: the named relaxations the explanation needed (stale reads a TTL
            allowed, writes a volatile crash was allowed to lose...).
        reason: why, when UNKNOWN.
    """

    status: Status
    violation: Violation | None = None
    relaxations: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == CONFORMS

    def __str__(self) -> str:
        if self.status == VIOLATES and self.violation is not None:
            return f"VIOLATES {self.violation.describe()}"
        if self.status == UNKNOWN:
            return f"UNKNOWN ({self.reason})"
        return "CONFORMS"
