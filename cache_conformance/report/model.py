"""What a report holds: the rows of its tables, as frozen data the writers only format.

Nothing here runs anything. `cache_conformance.report.execute` fills these classes; the markdown,
HTML and terminal writers read them. Every status is computed by the run that produced the
report; none is written down anywhere else.
"""

from __future__ import annotations

import attrs

from cache_conformance.claims import Claim, ClaimVerdict, Outcome
from cache_conformance.claims.evidence import REDIS_ONLY

__all__ = [
    "BUILTIN",
    "CLAIM",
    "MUTANT",
    "NOT_SELECTED",
    "SEED",
    "SKIPPED",
    "UNKNOWN",
    "BenchmarkRow",
    "CheckResult",
    "CheckRow",
    "ClaimRow",
    "Job",
    "ProofRow",
    "Report",
]

BUILTIN = "built-in"
MUTANT = "mutant"
SEED = "seed port"
CLAIM = "claim evidence"

SKIPPED = "SKIPPED"
UNKNOWN = "UNKNOWN"

# The reason of a check a partial report (--only) did not run.
NOT_SELECTED = "not selected: a partial report (--only, --claims)"


@attrs.frozen(slots=True)
class Job:
    """One conformance check to run: a subject, the contract, the scenario.

    Two rows that need the same check (a seed port's row and a claim's evidence item, say)
    share one Job, so it runs once.

    Attributes:
        factory: `module:function`.
        policy: the policy name.
        clients: concurrent clients per instance.
        instances: application instances.
        faults: the fault set, or None for every fault of the policy.
        backend: "memory" or "redis".
        examples: Hypothesis examples for this check (0: the run's default).
    """

    factory: str
    policy: str
    clients: int = 1
    instances: int = 1
    faults: tuple[str, ...] | None = None
    backend: str = "memory"
    examples: int = 0  # 0: the run's default budget

    @property
    def slug(self) -> str:
        """A stable file-name-safe id (for timeline files and HTML anchors)."""
        name = self.factory.replace("implementations.", "").replace(":", "-").replace(".", "-")
        faults = "all" if self.faults is None else ("none" if not self.faults else "+".join(self.faults))
        budget = f"--n{self.examples}" if self.examples else ""
        return f"{name}--{self.policy}--c{self.clients}i{self.instances}--{faults}--{self.backend}{budget}"

    def scenario(self) -> str:
        """How the check runs, in words."""
        parts = ["sequential" if self.clients == 1 else f"clients={self.clients}"]
        if self.instances > 1:
            parts.append(f"instances={self.instances}")
        if self.faults is not None:
            parts.append("faults: " + (", ".join(self.faults) or "none"))
        return ", ".join(parts)


@attrs.frozen(slots=True)
class CheckResult:
    """What running one Job produced (plain strings: it crosses a process boundary).

    Attributes:
        status: CONFORMS / VIOLATES / UNKNOWN / SKIPPED.
        clause: the clause broken (VIOLATES).
        reason: why UNKNOWN or SKIPPED; the violation's expected/observed for VIOLATES.
        examples: Hypothesis examples run.
        seconds: wall time of the check.
        counterexample: runnable Python (VIOLATES).
        timeline_text: the text timeline of the reported run (VIOLATES).
        timeline_html: the self-contained timeline page (VIOLATES).
    """

    job: Job
    status: str
    clause: str | None = None
    reason: str = ""
    examples: int = 0
    seconds: float = 0.0
    counterexample: str | None = None
    timeline_text: str | None = None
    timeline_html: str | None = None


@attrs.frozen(slots=True)
class CheckRow:
    """One row of a checks table: a result and what it was expected to be.

    `expected` is CONFORMS (built-ins), VIOLATES (mutants) or None (seed ports: the report
    shows what they do; the claims say whether that is what the seeds promise).
    `clauses` are the clauses a mutant's catalog row accepts.
    """

    group: str
    name: str
    result: CheckResult
    expected: str | None = None
    clauses: tuple[str, ...] = ()
    note: str = ""

    @property
    def met(self) -> bool | None:
        """True/False when there is an expectation, None otherwise. A mutant must be caught
        (VIOLATES); the clause is shown but a different clause still counts as caught."""
        if self.expected is None:
            return None
        return self.result.status == self.expected

    @property
    def left_out(self) -> bool:
        """Not run: a partial report (--only) left its check out."""
        return self.result.reason == NOT_SELECTED


@attrs.frozen(slots=True)
class ProofRow:
    """One protocol x property row settled by the proof engines.

    Attributes:
        verdict: PROVED / REFUTED when both engines agree, else UNKNOWN.
        engines: (engine, verdict, bound, seconds) per engine.
        trace: the shortest counterexample, one line per step.
        graph: the state-graph picture's path relative to the report directory, or None.
        graph_note: why there is no picture (too large, ...), or how it was drawn.
        graph_svg: the picture itself (an `<svg>` element, for report.html to inline).
    """

    protocol: str
    property: str
    scenario: str
    verdict: str
    engines: tuple[tuple[str, str, str, float], ...]
    states: int | None = None
    trace: tuple[str, ...] = ()
    note: str = ""
    required: bool = True
    graph: str | None = None
    graph_note: str = ""
    graph_svg: str | None = None


@attrs.frozen(slots=True)
class BenchmarkRow:
    """A measured figure for a claim's benchmark item."""

    description: str
    outcome: Outcome


@attrs.frozen(slots=True)
class ClaimRow:
    """A claim of the register, the outcome of each evidence item, and the verdict."""

    claim: Claim
    outcomes: tuple[Outcome, ...]
    verdict: ClaimVerdict

    @property
    def left_out(self) -> bool:
        """Without a verdict because a partial report (--only) left some of its evidence out."""
        return self.verdict.status == UNKNOWN and any(o.detail == NOT_SELECTED for o in self.outcomes)


@attrs.frozen(slots=True)
class Report:
    """Everything the writers need.

    Attributes:
        backend: "memory" or "redis".
        examples: Hypothesis examples per check.
        budget_note: how the budget was chosen (stated in the report).
        seconds: wall time of the whole run.
        skipped: one line per optional part that could not run (a missing backend, no dot).
    """

    backend: str
    examples: int
    budget_note: str
    checks: tuple[CheckRow, ...]
    proofs: tuple[ProofRow, ...]
    claims: tuple[ClaimRow, ...]
    seconds: float = 0.0
    skipped: tuple[str, ...] = ()

    def rows(self, group: str) -> tuple[CheckRow, ...]:
        return tuple(r for r in self.checks if r.group == group)

    def violations(self) -> list[CheckRow]:
        """The first row of each check that VIOLATES (a check two rows share is shown once)."""
        seen: dict[Job, CheckRow] = {}
        for row in self.checks:
            if row.result.status == "VIOLATES":
                seen.setdefault(row.result.job, row)
        return list(seen.values())

    def problems(self, *, left_out: bool = True) -> list[str]:
        """Why the run does not earn exit 0, one line each (empty: it does).

        `left_out=False` leaves out the rows a partial report (--only) did not run
        (`left_out_line` sums them up in one line).

        Exit 0 needs every built-in CONFORMS, every mutant VIOLATES, every proof row settled
        and every claim a verdict (HOLDS, HOLDS-IF or REFUTED). A claim SKIPPED only
        because its evidence needs a backend that was not asked for (`--backend redis`)
        is not a problem; one skipped because an asked-for backend is missing is.
        """
        out = []
        for row in self.rows(BUILTIN):
            if not row.met and (left_out or not row.left_out):
                out.append(f"built-in {row.name} ({row.result.job.scenario()}) is {row.result.status}, not CONFORMS")
        for row in self.rows(MUTANT):
            if not row.met and (left_out or not row.left_out):
                out.append(f"mutant {row.name} is {row.result.status}, not VIOLATES")
        for proof in self.proofs:
            if proof.verdict not in ("PROVED", "REFUTED"):
                out.append(f"proof {proof.protocol} x {proof.property} is {proof.verdict}: {proof.note}")
        for c in self.claims:
            status = c.verdict.status
            if c.left_out and not left_out:
                continue
            if status == UNKNOWN or (status == SKIPPED and not self._skipped_by_choice(c)):
                out.append(f"claim {c.claim.id} has no verdict ({status})")
        return out

    def left_out_line(self) -> str | None:
        """One line for every row a partial report (--only, --claims) did not run, or None."""
        groups = [(f"{BUILTIN}", sum(1 for r in self.rows(BUILTIN) if r.left_out)),
                  (f"{MUTANT}", sum(1 for r in self.rows(MUTANT) if r.left_out)),
                  (f"{SEED}", sum(1 for r in self.rows(SEED) if r.left_out)),
                  ("claim", sum(1 for c in self.claims if c.left_out))]
        said = [f"{name} ({n})" for name, n in groups if n]
        if not said:
            return None
        names = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
        return (f"{names} rows left out by --only or --claims are UNKNOWN (not selected: a partial report); "
                "run without them for their verdicts")

    def all_as_expected(self) -> str:
        """The sentence of a run that earns exit 0 (`problems` is empty), naming the claims
        left without a verdict because their evidence needs a backend nobody asked for."""
        by_choice = [c.claim.id for c in self.claims
                     if c.verdict.status == SKIPPED and self._skipped_by_choice(c)]
        claims = "every claim has a verdict"
        if by_choice:
            claims = (f"every claim has a verdict but {len(by_choice)} whose evidence is measured "
                      f"on real Redis ({', '.join(by_choice)}: --backend redis)")
        return ("Every built-in conforms, every mutant is caught, every proof row is settled "
                f"and {claims} (exit code 0).")

    def _skipped_by_choice(self, row: ClaimRow) -> bool:
        # On the default backend, evidence measured on real Redis is skipped because nobody
        # asked for it: the report says so, and that is not a failure of the run.
        open_items = [o for o in row.outcomes if o.status == SKIPPED]
        return self.backend == "memory" and all(REDIS_ONLY in o.detail for o in open_items)
