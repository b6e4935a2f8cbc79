"""Running rows of the results table on both engines, comparing their verdicts, and
checking the explicit engine's verdict against the contract (proofs/refinement.py)."""

from __future__ import annotations

from typing import Any

import attrs

from model.protocols import Row, build, property_by_id, protocol_by_id
from proofs import explicit, refinement, symbolic
from proofs.refinement import Refinement
from proofs.verdict import PROVED, REFUTED, UNKNOWN, Result

__all__ = ["DEFAULT_DEPTH", "ENGINES", "MAX_DEPTH", "RowOutcome", "run_row", "run_rows"]

ENGINES = ("explicit", "z3")
DEFAULT_DEPTH = 40
MAX_DEPTH = 200  # deeper unrollings only cost time: every model here terminates far sooner


@attrs.frozen(slots=True)
class RowOutcome:
    row: Row
    results: tuple[Result, ...]
    agree: bool
    note: str  # why the row is not settled, or the expectation it contradicts; else ""
    # The explicit verdict checked against the contract; None when the explicit engine
    # did not run (or gave no verdict).
    refinement: Refinement | None = None

    @property
    def settled(self) -> bool:
        """Every engine gave a verdict (no UNKNOWN), they agree, and the contract agrees
        with them (or the row is a known gap of the refinement check)."""
        return (self.agree and all(r.verdict != UNKNOWN for r in self.results)
                and (self.refinement is None or self.refinement.ok))

    @property
    def stronger_guarantee(self) -> str | None:
        """Why the row asks the protocol for more than its policy promises, or None."""
        return self.row.stronger_guarantee

    def to_json(self) -> dict[str, Any]:
        """The row's fields beside each engine's result in ``prove --json``."""
        return {
            "agree": self.agree,
            "settled": self.settled,
            "stronger_guarantee": self.stronger_guarantee,
            "refinement": self.refinement.to_json() if self.refinement is not None else None,
        }


def _agreement(results: tuple[Result, ...], depth: int) -> tuple[bool, str]:
    verdicts = {r.verdict for r in results}
    if UNKNOWN in verdicts:
        return False, "no verdict from " + ", ".join(r.engine for r in results if r.verdict == UNKNOWN)
    if len(verdicts) > 1:
        longer = [r for r in results if r.trace is not None and len(r.trace) > depth]
        if longer:
            return False, f"the counterexample has {len(longer[0].trace)} steps, more than --depth {depth}"  # type: ignore[arg-type]
        return False, "engines disagree: " + ", ".join(f"{r.engine} {r.verdict}" for r in results)
    lengths = {len(r.trace) for r in results if r.trace is not None}
    if len(lengths) > 1:
        return False, f"shortest counterexamples differ in length: {sorted(lengths)}"
    return True, ""


def run_row(row: Row, depth: int = DEFAULT_DEPTH, engines: tuple[str, ...] = ENGINES) -> RowOutcome:
    system = build(protocol_by_id(row.protocol), row.scenario)
    prop = property_by_id(row.property)
    results = []
    refined = None
    for engine in engines:
        if engine == "explicit":
            ex = explicit.explore(system)
            r = explicit.check(system, prop, ex)
            r = attrs.evolve(r, seconds=r.seconds + ex.seconds)  # the exploration included
            if r.verdict in (PROVED, REFUTED):
                refined = refinement.check(row, prop, ex, r.verdict)
        elif engine == "z3":
            r = symbolic.check(system, prop, depth)
        else:
            raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
        results.append(attrs.evolve(r, expected=row.expected))
    out = tuple(results)
    agree, note = _agreement(out, depth)
    if agree and row.expected and out[0].verdict != row.expected:
        note = f"the issue expected {row.expected}; the engines say {out[0].verdict}"
    if agree and row.expected is None and out[0].verdict == REFUTED:
        note = ""
    if refined is not None and not refined.ok:
        note = "; ".join(n for n in (note, f"refinement {refined.status}: {refined.reason}") if n)
    return RowOutcome(row, out, agree, note, refined)


def run_rows(rows: tuple[Row, ...], depth: int = DEFAULT_DEPTH,
             engines: tuple[str, ...] = ENGINES) -> list[RowOutcome]:
    return [run_row(r, depth, engines) for r in rows]
