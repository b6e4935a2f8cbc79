"""The outcome of a check: how a run's ending becomes CONFORMS / VIOLATES / UNKNOWN, and
the report that carries it.

One chain, `judge`, turns what driving a subject ended with into a verdict, for every
mode (the Hypothesis search, `--exhaustive`, `--replay`, `--scenario`):

==========================  =========================================================
the run ended with          verdict
==========================  =========================================================
nothing (it returned)       CONFORMS (with the relaxations the monitor used)
ContractViolation           VIOLATES, the clause broken, its counterexample
LivenessFailure             VIOLATES (liveness), unshrunk: a replay costs a timeout
Hung (a call nobody armed)  VIOLATES (liveness)
Flaky (Hypothesis)          VIOLATES if a replay raised a violation, else UNKNOWN
Inconclusive                UNKNOWN (the checker's budget ran out; never a pass)
==========================  =========================================================

Anything else (a `UsageError`, a schedule that does not fit the subject) is not a
verdict and propagates to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import frozen
from hypothesis.errors import Flaky

from model import CONFORMS, UNKNOWN, VIOLATES, Verdict, Violation

from conformance.calls import Hung
from conformance.errors import ContractViolation, Inconclusive, LivenessFailure

__all__ = ["CheckReport", "NonConformance", "Judgement", "judge", "NOT_SHRUNK", "NOT_REPRODUCED"]

NOT_SHRUNK = "not shrunk: every replay of a hang costs a full timeout"
NOT_REPRODUCED = "the failure did not reproduce on replay: the subject is nondeterministic (threads, real time?)"


@frozen(kw_only=True)
class CheckReport:
    """The outcome of one check, with what it took to reach it.

    Attributes:
        target: the factory's name.
        policy: the policy checked.
        verdict: CONFORMS / VIOLATES / UNKNOWN with the evidence.
        examples: Hypothesis examples run (including shrinking).
        steps: rules executed in total.
        seconds: wall time.
        counterexample: runnable Python reproducing the violation (shrunk), or None.
        seed: the seed used.
        note: anything the reader should know (e.g. not reproducible on replay).
        history: the observed events (model.events) of the reported run: the shrunk failing
            one, or the last one when it conforms.
        trace: its store steps, (position in history, lane, store, call, key).
    """

    target: str
    policy: str
    verdict: Verdict
    examples: int
    steps: int
    seconds: float
    counterexample: str | None = None
    seed: int | None = None
    note: str | None = None
    history: tuple[Any, ...] = ()
    trace: tuple[tuple[int, str, str, str, str | None], ...] = ()

    @property
    def clause(self) -> str | None:
        return self.verdict.violation.clause if self.verdict.violation else None

    def to_json(self) -> dict[str, Any]:
        v = self.verdict.violation
        return {
            "target": self.target,
            "policy": self.policy,
            "verdict": self.verdict.status,
            "clause": self.clause,
            "examples": self.examples,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "counterexample": self.counterexample,
            "expected": v.expected if v else None,
            "observed": v.observed if v else None,
            "key": v.key if v else None,
            # Where a subject's exception came from: {"subject": {file, line, function},
            # "raised": the same or null}; null when the evidence is no exception of it.
            "place": v.place.to_json() if v and v.place else None,
            "relaxations": list(self.verdict.relaxations),
            "reason": self.verdict.reason,
            "note": self.note,
        }

    def render(self) -> str:
        head = f"{self.verdict.status}: {self.target} as {self.policy}"
        stats = f"({self.examples} examples, {self.steps} steps, {self.seconds:.2f} s, seed {self.seed})"
        out = [f"{head} {stats}"]
        v = self.verdict.violation
        if v is not None:
            out += v.report_lines()
        if self.verdict.reason:
            out.append(f"reason: {self.verdict.reason}")
        if self.note:
            out.append(f"note: {self.note}")
        if self.counterexample:
            out += ["", "counterexample (runnable):", "", self.counterexample]
        return "\n".join(out)


class NonConformance(AssertionError):
    """A subject does not conform (or could not be shown to): carries the report."""

    def __init__(self, report: CheckReport):
        super().__init__(report.render())
        self.report = report


@frozen(kw_only=True)
class Judgement:
    """What one attempt ended with, before a mode turns it into a `CheckReport`.

    Attributes:
        verdict: the verdict.
        script: the counterexample the ending carried (a violation's own), if any.
        note: what the chain itself has to say (unshrunk, not reproduced), if anything.
        flaky: Hypothesis could not reproduce the failure: the mode shows the first
            failing run it saw.
    """

    verdict: Verdict
    script: str | None = None
    note: str | None = None
    flaky: bool = False


def judge(attempt: Callable[[], object], *,
          relaxations: Callable[[], tuple[str, ...]] = lambda: ()) -> Judgement:
    """Run `attempt` (drive a run, or a whole Hypothesis search) and turn how it ended into
    a verdict, by the table in this module's docstring. `relaxations` is asked only when
    the attempt conforms (the contract's allowances the monitor had to use).

    Raises:
        whatever `attempt` raised that is not a verdict (UsageError, ScheduleMismatch, ...).
    """
    try:
        attempt()
    except ContractViolation as e:
        return Judgement(verdict=Verdict(VIOLATES, e.violation), script=e.script)
    except Flaky as e:
        cause = _first_violation(e)
        verdict = Verdict(VIOLATES, cause) if cause else Verdict(UNKNOWN, reason=f"flaky: {e}")
        return Judgement(verdict=verdict, note=NOT_REPRODUCED, flaky=True)
    except Inconclusive as e:
        return Judgement(verdict=Verdict(UNKNOWN, reason=str(e)))
    except LivenessFailure as e:
        return Judgement(verdict=Verdict(VIOLATES, e.violation), script=e.script, note=NOT_SHRUNK)
    except Hung as e:
        return Judgement(verdict=Verdict(VIOLATES, Violation("liveness", None, "operations return within the timeout",
                                                             e.what)))
    return Judgement(verdict=Verdict(CONFORMS, relaxations=relaxations()))


def _first_violation(e: BaseException) -> Violation | None:
    # Hypothesis' Flaky may group the errors each attempt raised.
    for sub in getattr(e, "exceptions", ()) or ():
        if isinstance(sub, ContractViolation):
            return sub.violation
    return None
