"""Scenarios regenerated from the proofs, and what replaying them means.

Nothing here reads a scenario file: every scenario is the export of a trace the explicit
engine finds now, so a change to a model or to the exporter shows up in these tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from conformance import CheckReport
from conformance.replay import replay
from model.protocols import REQUIRED, build, property_by_id, protocol_by_id
from model.protocols.system import Scenario
from proofs import explicit
from proofs.scenario import export, parse
from proofs.verdict import REFUTED, Trace

__all__ = ["Exported", "exported", "export_row", "replay_scenario", "store_calls", "model_calls"]


@dataclass(frozen=True)
class Exported:
    """One refuting trace and the scenario `prove --scenarios` writes for it."""

    protocol: str
    property: str
    trace: Trace
    data: dict[str, Any]


def export_row(protocol: str, prop: str, scenario: Scenario) -> Exported:
    """Explore `protocol` within `scenario`; its shortest refutation of `prop`, exported.

    Raises AssertionError when the row is not refuted (there is nothing to replay).
    """
    system = build(protocol_by_id(protocol), scenario)
    result = explicit.check(system, property_by_id(prop))
    assert result.verdict == REFUTED and result.trace is not None, (
        f"{protocol} / {prop}: {result.verdict}, expected a refutation to replay")
    # Through `parse`, as `check --scenario FILE` reads it: the export must validate.
    return Exported(protocol, prop, result.trace, parse(export(result.trace), protocol))


@functools.cache
def exported() -> dict[str, Exported]:
    """Every scenario `prove --scenarios` exports today: the required rows the explicit
    engine refutes (the verdict the tool derives, not the row's `expected`)."""
    out: dict[str, Exported] = {}
    for row in REQUIRED:
        system = build(protocol_by_id(row.protocol), row.scenario)
        result = explicit.check(system, property_by_id(row.property))
        if result.trace is not None:
            out[row.protocol] = Exported(row.protocol, row.property, result.trace,
                                         parse(export(result.trace), row.protocol))
    return out


def replay_scenario(target: str, policy: str, data: dict[str, Any]) -> CheckReport:
    """`check TARGET --policy POLICY --scenario FILE`, without the file."""
    return replay(target, policy, {"kind": "scenario", "data": data})


def model_calls(trace: Trace) -> list[tuple[str, str]]:
    """The model's store calls, in order: (client, "store.call")."""
    return [(s.actor, s.call) for s in trace.steps if s.actor != "env" and s.call is not None]


def store_calls(report: CheckReport) -> list[tuple[str, str]]:
    """The subject's store calls during a replay, in order: (actor, "store.call")."""
    return [(actor, f"{store}.{call}") for _, actor, store, call, *_ in report.trace]
