"""Running rows of the results table on both engines and comparing their verdicts."""

from __future__ import annotations

import attrs

from model.protocols import Row, build, property_by_id, protocol_by_id
from proofs import explicit, symbolic
from proofs.verdict import REFUTED, UNKNOWN, Result

__all__ = ["ENGINES", "RowOutcome", "run_row", "run_rows", "MAX_DEPTH", "DEFAULT_DEPTH"]

ENGINES = ("explicit", "z3")
DEFAULT_DEPTH = 40
MAX_DEPTH = 200  # deeper unrollings only cost time: every model here terminates far sooner


@attrs.frozen(slots=True)
class RowOutcome:
    row: Row
    results: tuple[Result, ...]
    agree: bool
    note: str  # why the engines disagree, or the expectation they contradict; else ""

    @property
    def settled(self) -> bool:
        """Every engine gave a verdict (no UNKNOWN) and they agree."""
        return self.agree and all(r.verdict != UNKNOWN for r in self.results)


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
    for engine in engines:
        if engine == "explicit":
            r = explicit.check(system, prop)
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
    return RowOutcome(row, out, agree, note)


def run_rows(rows: tuple[Row, ...], depth: int = DEFAULT_DEPTH,
             engines: tuple[str, ...] = ENGINES) -> list[RowOutcome]:
    return [run_row(r, depth, engines) for r in rows]
