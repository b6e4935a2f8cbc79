"""The rule that turns a claim's evidence outcomes into HOLDS / HOLDS-IF / REFUTED.

Pure: the report runs the checks, proofs and benchmarks, wraps each result in an
`Outcome`, and calls `decide`. Nothing here is stored: the verdict exists only when the
evidence has been produced.

The rule, per claim:

* every evidence item is *for* the claim (its outcome is the one the claim implies), *against*
  it, or *open* (UNKNOWN, or SKIPPED because a backend is missing);
* an item of scope "claim" that is against it refutes the claim as stated; the verdict is then
  HOLDS-IF the claim's "condition" items, if there are any and all are for it, else REFUTED;
* otherwise, any open item leaves the claim UNKNOWN (or SKIPPED when only skips are open):
  an unknown is never a pass;
* otherwise the claim HOLDS.
"""

from __future__ import annotations

import attrs

from cache_conformance.claims.register import Benchmark, Claim, Evidence

__all__ = [
    "HOLDS",
    "HOLDS_IF",
    "REFUTED",
    "SKIPPED",
    "UNKNOWN",
    "ClaimVerdict",
    "Outcome",
    "decide",
    "supports",
]

HOLDS = "HOLDS"
HOLDS_IF = "HOLDS-IF"
REFUTED = "REFUTED"
UNKNOWN = "UNKNOWN"
SKIPPED = "SKIPPED"

_OPEN = ("UNKNOWN", "SKIPPED")


@attrs.frozen(slots=True)
class Outcome:
    """What one piece of evidence produced.

    Attributes:
        status: CONFORMS / VIOLATES (check), PROVED / REFUTED (proof), MEASURED
            (benchmark, with `value`), or UNKNOWN / SKIPPED.
        value: the measured figure of a benchmark.
        detail: the reason for UNKNOWN/SKIPPED, or where the evidence is (a counterexample
            file, a proof trace), for the report.
    """

    status: str
    value: float | None = None
    detail: str = ""


@attrs.frozen(slots=True)
class ClaimVerdict:
    """The verdict of a claim and the lines of evidence that decided it."""

    claim: str
    status: str
    conditions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.status == HOLDS_IF:
            return f"{HOLDS_IF} ({'; '.join(self.conditions)})"
        return self.status


def supports(evidence: Evidence, outcome: Outcome) -> bool | None:
    """True if the outcome is what the claim implies, False if not, None if open.

    Raises:
        ValueError: an outcome that does not belong to this kind of evidence (for example a
            benchmark without a value): a bug of the caller, not a verdict.
    """
    if outcome.status in _OPEN:
        return None
    item = evidence.item
    if isinstance(item, Benchmark):
        if outcome.status != "MEASURED" or outcome.value is None:
            raise ValueError(f"a benchmark outcome must be MEASURED with a value, got {outcome!r}")
        low_ok = item.at_least is None or outcome.value >= item.at_least
        high_ok = item.at_most is None or outcome.value <= item.at_most
        return low_ok and high_ok
    expected = {"check": ("CONFORMS", "VIOLATES"), "proof": ("PROVED", "REFUTED")}[item.kind]
    if outcome.status not in expected:
        raise ValueError(f"a {item.kind} outcome must be one of {expected}, got {outcome.status!r}")
    return outcome.status == item.supports


def decide(claim: Claim, outcomes: list[Outcome] | tuple[Outcome, ...]) -> ClaimVerdict:
    """Apply the rule to one claim, given one outcome per evidence item, in order.

    Raises:
        ValueError: the number of outcomes does not match the claim's evidence.
    """
    if len(outcomes) != len(claim.evidence):
        raise ValueError(
            f"claim {claim.id!r} has {len(claim.evidence)} evidence items, got {len(outcomes)} outcomes"
        )
    judged = [(e, o, supports(e, o)) for e, o in zip(claim.evidence, outcomes)]
    reasons = tuple(_reason(e, o, s) for e, o, s in judged)
    against = [e for e, _, s in judged if e.scope == "claim" and s is False]
    if against:
        conditions = [(e, s) for e, _, s in judged if e.scope == "condition"]
        if conditions and all(s is True for _, s in conditions):
            return ClaimVerdict(claim.id, HOLDS_IF, tuple(dict.fromkeys(e.condition for e, _ in conditions)), reasons)
        if any(s is None for _, s in conditions):
            return ClaimVerdict(claim.id, UNKNOWN, reasons=reasons)
        return ClaimVerdict(claim.id, REFUTED, reasons=reasons)
    open_items = [o for e, o, s in judged if e.scope == "claim" and s is None]
    if open_items:
        status = SKIPPED if all(o.status == "SKIPPED" for o in open_items) else UNKNOWN
        return ClaimVerdict(claim.id, status, reasons=reasons)
    return ClaimVerdict(claim.id, HOLDS, reasons=reasons)


def _reason(evidence: Evidence, outcome: Outcome, verdict: bool | None) -> str:
    mark = {True: "for", False: "against", None: "open"}[verdict]
    shown = outcome.status if outcome.value is None else f"{outcome.value:.3g}"
    scope = "" if evidence.scope == "claim" else f" [if {evidence.condition}]"
    detail = f" — {outcome.detail}" if outcome.detail else ""
    return f"{mark}: {evidence.item.describe()}{scope}: {shown}{detail}"
