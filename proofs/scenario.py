"""Counterexamples as replayable scenarios (format ``cache-conformance/scenario@1``).

The format itself (its names, and the validation of a decoded scenario) is pure and lives
in :mod:`model.scenario_format`; this module writes traces as scenarios and reads files.

A refuting trace is a schedule of store calls: every client step of a protocol model is
exactly one store call, so the trace says which client makes the next store call, and
where the faults fall between them. ``cache-conformance check TARGET --policy P
--scenario FILE`` replays it against a real subject.

Replay semantics the export assumes (documented in docs/PROOFS.md):

* each entry of ``schedule`` lets that client run until it has completed its next store
  call; a client between operations first invokes its next operation from ``clients``
  (so the in-process code before a store call runs in the same step as the call);
* ``faults[i]`` is injected when ``before_step`` schedule entries have run;
* ``clients`` lists only the operations the trace invoked, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.protocols import INITIAL, TransitionSystem, property_by_id
from model.scenario_format import FAULTS, FORMAT, KEY, ScenarioError, parse
from proofs.verdict import Trace

__all__ = [
    "FAULTS",
    "FORMAT",
    "KEY",
    "ScenarioError",
    "export",
    "load",
    "parse",
    "run_on_model",
    "write",
]


def _op_json(system: TransitionSystem, client: int, index: int) -> dict[str, str]:
    op = system.scenario.clients[client].ops[index]
    out = {"op": op.kind}
    if op.kind in ("read", "write"):
        out["key"] = KEY
    if op.kind == "write" and op.value is not None:
        out["value"] = system.scenario.value_name(op.value)
    return out


def _note(trace: Trace) -> str:
    system = trace.system
    final = dict(trace.states[-1])
    name = system.scenario.value_name
    stores = f"cache={name(final['cache'])}, db={name(final['db'])}"
    if final.get("h_acked"):
        stores += f", latest acknowledged write={name(final['h_acked'])}"
    prop = property_by_id(trace.property)
    steps = "; ".join(
        s.fault or f"{s.actor} {s.call}" for s in trace.steps
    )
    return f"violates {prop.id} ({prop.description}); after: {steps}; final {stores}"


def export(trace: Trace) -> dict[str, Any]:
    """The scenario a refuting trace describes."""
    system = trace.system
    sc = system.scenario
    names = [c.name for c in sc.clients]
    last_op: dict[str, int] = {}
    schedule: list[str] = []
    faults: list[dict[str, Any]] = []
    for step in trace.steps:
        if step.actor == "env":
            faults.append({"before_step": len(schedule), "fault": step.fault})
        else:
            schedule.append(step.actor)
            assert step.op is not None
            last_op[step.actor] = max(last_op.get(step.actor, -1), step.op)
    clients = {
        name: [_op_json(system, names.index(name), i) for i in range(last_op[name] + 1)]
        for name in names
        if name in last_op
    }
    cache = {KEY: sc.value_name(INITIAL)} if sc.cache_initial == INITIAL else {}
    return {
        "format": FORMAT,
        "policy": system.policy,
        "origin": {"protocol": system.protocol, "property": trace.property,
                   "engine": trace.engine},
        "initial": {"db": {KEY: sc.value_name(INITIAL)}, "cache": cache},
        "clients": clients,
        "schedule": schedule,
        "faults": faults,
        "expect": {"clause": property_by_id(trace.property).clause, "note": _note(trace)},
    }


def write(trace: Trace, directory: Path) -> Path:
    """Write the scenario as ``<protocol>--<property>.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{trace.system.protocol}--{trace.property}.json"
    path.write_text(json.dumps(export(trace), indent=2) + "\n")
    return path


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a scenario file; every problem is one ScenarioError line."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ScenarioError(f"{p}: cannot read: {e.strerror or e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"{p}: not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    return parse(data, str(p))


def run_on_model(system: TransitionSystem, data: dict[str, Any]) -> list[dict[str, int]]:
    """Replay a scenario on the protocol model itself; the states after each step.

    This checks what replay on a real implementation relies on: the schedule alone (who
    makes the next store call, and where faults fall) determines the run, because a
    client's possible steps in a state are mutually exclusive. Raises ScenarioError if a
    scheduled client has no step, or more than one, or a fault cannot happen there.
    """
    from model.protocols.expr import evaluate  # the reference semantics

    state = dict(system.init)
    states = [dict(state)]
    faults = sorted(data["faults"], key=lambda f: f["before_step"])

    def apply(candidates: list[int], what: str) -> None:
        enabled = [a for a in candidates if evaluate(system.actions[a].guard, state)]
        if len(enabled) != 1:
            raise ScenarioError(f"{what}: {len(enabled)} possible steps, expected exactly 1")
        action = system.actions[enabled[0]]
        new = {name: int(evaluate(e, state)) for name, e in action.effects}
        state.update(new)
        states.append(dict(state))

    def inject(before: int) -> None:
        while faults and faults[0]["before_step"] == before:
            name = faults.pop(0)["fault"]
            apply([a for a, act in enumerate(system.actions) if act.fault == name],
                  f"fault {name} before step {before}")

    for n, client in enumerate(data["schedule"]):
        inject(n)
        apply([a for a, act in enumerate(system.actions) if act.actor == client],
              f"step {n} ({client})")
    inject(len(data["schedule"]))
    return states
