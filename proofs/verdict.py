"""Verdicts of the proof engines and the step traces that justify a refutation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from model.protocols import TransitionSystem

__all__ = [
    "EVERY_INTERLEAVING",
    "EVERY_RUN",
    "PROVED",
    "REFUTED",
    "SCOPE",
    "UNKNOWN",
    "Result",
    "Trace",
    "TraceStep",
    "decode_trace",
]

PROVED = "PROVED"
REFUTED = "REFUTED"
UNKNOWN = "UNKNOWN"

# What a verdict covers. Every exploration is of one finite scenario (its clients, their
# operations, its faults, its values): complete for it, and nothing beyond it. No result
# of the engines holds for any number of operations or clients, so none says "unbounded".
EVERY_INTERLEAVING = "all interleavings of the scenario"
EVERY_RUN = "all runs of the scenario"
SCOPE = ("proved for this scenario only (a complete exploration of its runs), not for "
         "other numbers of clients, operations or faults")

# Variables worth showing in a trace line: the stores, the queue and the buffer. History
# and program counters are bookkeeping; they stay in the JSON states.
_SHOWN_PREFIXES = ("cache", "db", "q", "mem")


@attrs.frozen(slots=True)
class TraceStep:
    """One step of a counterexample: who acted, with which store call or fault."""

    action: str
    actor: str
    call: str | None
    fault: str | None
    op: int | None
    changes: tuple[tuple[str, str, str], ...]  # (variable, before, after), stores only

    def describe(self) -> str:
        what = self.fault or self.call or "-"
        delta = ", ".join(f"{n}: {a}->{b}" for n, a, b in self.changes)
        return f"{self.action} ({what})" + (f"  [{delta}]" if delta else "")


@attrs.frozen(slots=True)
class Trace:
    """A counterexample, with what is needed to export it as a replayable scenario."""

    steps: tuple[TraceStep, ...]
    states: tuple[tuple[tuple[str, int], ...], ...]  # initial state, then after each step
    system: TransitionSystem = attrs.field(eq=False, repr=False)
    property: str = ""
    engine: str = ""

    def __len__(self) -> int:
        return len(self.steps)

    def lines(self) -> list[str]:
        return [f"{i + 1:>2}. {s.describe()}" for i, s in enumerate(self.steps)]

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [attrs.asdict(s) for s in self.steps],
            "lines": self.lines(),
            "final_state": dict(self.states[-1]),
        }


@attrs.frozen(slots=True)
class Result:
    """The verdict of one engine on one (protocol, property, scenario) row."""

    protocol: str
    property: str
    engine: str
    verdict: str
    bound: str  # what the verdict covers: every interleaving / every run of this scenario, or "bounded to k=..."
    seconds: float
    scenario: str
    states: int | None = None
    edges: int | None = None
    trace: Trace | None = None
    reason: str | None = None  # UNKNOWN: the solver's reason; otherwise how it was proved
    expected: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "protocol": self.protocol,
            "property": self.property,
            "engine": self.engine,
            "verdict": self.verdict,
            "bound": self.bound,
            "seconds": round(self.seconds, 4),
            "scenario": self.scenario,
            "states": self.states,
            "edges": self.edges,
            "expected": self.expected,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.trace is not None:
            out["trace"] = self.trace.to_json()
        return out


def _show(system: TransitionSystem, name: str, code: int) -> str:
    if name in ("db_up",):
        return "up" if code else "down"
    if name in ("cache", "db", "mem") or (name[0] == "q" and name[1:].isdigit()):
        return system.scenario.value_name(code)
    return str(code)


def decode_trace(
    system: TransitionSystem,
    actions: Sequence[int],
    states: Sequence[Mapping[str, int]],
    *,
    prop: str,
    engine: str,
) -> Trace:
    """A readable trace from action indices and the states before and after each."""
    steps = []
    for i, a in enumerate(actions):
        act = system.actions[a]
        before, after = states[i], states[i + 1]
        changes = tuple(
            (v.name, _show(system, v.name, before[v.name]), _show(system, v.name, after[v.name]))
            for v in system.variables
            if before[v.name] != after[v.name]
            and (v.name.startswith(_SHOWN_PREFIXES) and not v.name.startswith("db_down"))
        )
        steps.append(TraceStep(act.name, act.actor, act.call, act.fault, act.op, changes))
    return Trace(
        tuple(steps),
        tuple(tuple((v.name, int(s[v.name])) for v in system.variables) for s in states),
        system,
        prop,
        engine,
    )
