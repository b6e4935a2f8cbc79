"""Verdicts of a check: CONFORMS, VIOLATES (with the clause and the evidence) or UNKNOWN.

UNKNOWN is never a pass: a budget ran out, a timeout struck, or the search was cut.
"""

from __future__ import annotations

from typing import Literal

from attrs import frozen

from model.clauses import CLAUSES
from model.events import Event

__all__ = ["Status", "CONFORMS", "VIOLATES", "UNKNOWN", "SourceFrame", "ErrorPlace", "Violation", "Verdict"]

Status = Literal["CONFORMS", "VIOLATES", "UNKNOWN"]
CONFORMS: Status = "CONFORMS"
VIOLATES: Status = "VIOLATES"
UNKNOWN: Status = "UNKNOWN"


@frozen
class SourceFrame:
    """One frame of a traceback: where a line of Python code ran.

    Attributes:
        file: the source file, as Python names it (`co_filename`).
        line: the line number in it.
        function: the function (or method) the line belongs to.
    """

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}, in {self.function}"

    def to_json(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "function": self.function}


@frozen
class ErrorPlace:
    """Where an exception of the subject's came from, so the reader can open the line.

    Attributes:
        subject: the innermost frame of the subject's own code (its target's package or
            file) on the exception's traceback.
        raised: the frame that raised it, when that is elsewhere (a client library, the
            standard library, the harness's store layer); None when the subject raised it.
    """

    subject: SourceFrame
    raised: SourceFrame | None = None

    def to_json(self) -> dict[str, dict[str, str | int] | None]:
        return {"subject": self.subject.to_json(), "raised": self.raised.to_json() if self.raised else None}


@frozen
class Violation:
    """The first observation no explanation survives.

    Attributes:
        clause: the id of the clause it breaks (see model.clauses).
        key: the key it concerns, when it concerns one.
        expected: what the contract allowed at that point.
        observed: what the harness saw.
        event: the event that broke it (None for end-of-run checks such as convergence).
        place: where the subject's exception came from, when the evidence is one (the
            subject-error clause); None otherwise, or when no frame of the subject's own
            code was on its traceback.
    """

    clause: str
    key: str | None
    expected: str
    observed: str
    event: Event | None = None
    place: ErrorPlace | None = None

    @property
    def title(self) -> str:
        c = CLAUSES.get(self.clause)
        return c.title if c else self.clause

    def report_lines(self) -> list[str]:
        """The violation as a report prints it, a line each: the clause and its title, the
        key, expected, observed, and the subject exception's place."""
        out = [f"clause broken: {self.clause} — {self.title}"]
        if self.key is not None:
            out.append(f"key: {self.key!r}")
        out += [f"expected: {self.expected}", f"observed: {self.observed}"]
        if self.place is not None:
            out.append(f"subject code: {self.place.subject}")
            if self.place.raised is not None:
                out.append(f"raised in: {self.place.raised}")
        return out

    def describe(self) -> str:
        where = f" on key {self.key!r}" if self.key is not None else ""
        at = f" at {self.event!r}" if self.event is not None else ""
        text = f"{self.clause}{where}{at}\n  expected: {self.expected}\n  observed: {self.observed}"
        if self.place is not None:
            text += f"\n  subject code: {self.place.subject}"
            if self.place.raised is not None:
                text += f"\n  raised in: {self.place.raised}"
        return text


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
