"""Every row of issue 5's table, derived by both engines, which must agree.

The explicit engine is fast and runs by default; the Z3 engine on every row is marked slow
(about 10 s together). A refuting trace from either engine is re-executed on the model's
reference semantics: each step must be enabled and produce the next state, and the last
state must violate the property.
"""

from __future__ import annotations

import pytest

from model.protocols import REQUIRED, build, property_by_id, protocol_by_id
from model.protocols.expr import evaluate
from proofs import explicit, symbolic
from proofs.runner import run_row
from proofs.verdict import EVERY_INTERLEAVING, EVERY_RUN, PROVED, REFUTED

ROW_IDS = [f"{r.protocol}--{r.property}" for r in REQUIRED]


def _system(row):
    return build(protocol_by_id(row.protocol), row.scenario), property_by_id(row.property)


def _assert_trace_is_a_run_to_a_bad_state(system, prop, trace):
    states = [dict(s) for s in trace.states]
    assert states[0] == dict(system.init)
    names = {a.name: a for a in system.actions}
    for i, step in enumerate(trace.steps):
        action = names[step.action]
        assert evaluate(action.guard, states[i]), f"step {i + 1} not enabled: {step.action}"
        expected = dict(states[i])
        expected.update({n: int(evaluate(e, states[i])) for n, e in action.effects})
        assert expected == states[i + 1], f"step {i + 1} does not produce the next state"
    assert not evaluate(prop.expr(system), states[-1])
    assert all(evaluate(prop.expr(system), s) for s in states[:-1]), "not a shortest trace"


@pytest.mark.parametrize("row", REQUIRED, ids=ROW_IDS)
def test_explicit_engine_derives_the_expected_verdict(row):
    system, prop = _system(row)
    assert prop.applies(row.scenario) is None
    result = explicit.check(system, prop)
    assert result.verdict == row.expected
    assert result.states and result.states > 1
    if result.verdict == REFUTED:
        _assert_trace_is_a_run_to_a_bad_state(system, prop, result.trace)


@pytest.mark.slow
@pytest.mark.parametrize("row", REQUIRED, ids=ROW_IDS)
def test_both_engines_agree(row):
    outcome = run_row(row)
    assert outcome.settled, outcome.note
    explicit_result, z3_result = outcome.results
    assert explicit_result.verdict == z3_result.verdict == row.expected
    if z3_result.verdict == PROVED:
        # A complete exploration of the one scenario, said as such (never "unbounded").
        assert z3_result.bound.startswith(EVERY_RUN)
        assert explicit_result.bound == EVERY_INTERLEAVING
    else:
        system, prop = _system(row)
        assert len(z3_result.trace) == len(explicit_result.trace)
        _assert_trace_is_a_run_to_a_bad_state(system, prop, z3_result.trace)


def test_z3_refutes_at_the_shortest_depth_and_not_before():
    row = next(r for r in REQUIRED if r.protocol == "ca-invalidate")
    system, prop = _system(row)
    assert symbolic.check(system, prop, depth=4).verdict == PROVED  # bounded: trace needs 5
    assert symbolic.check(system, prop, depth=4).bound == "bounded to k=4 (runs of <= 4 steps)"
    refuted = symbolic.check(system, prop, depth=5)
    assert refuted.verdict == REFUTED and len(refuted.trace) == 5


def test_a_correct_protocol_is_refuted_once_its_scenario_exceeds_its_guarantee():
    # wt-db-first-invalidate is proved writer/writer; with a reader it has the stale fill.
    from model.protocols import make_scenario

    system = build(protocol_by_id("wt-db-first-invalidate"),
                   make_scenario({"c0": ["read"], "c1": ["write"]}))
    result = explicit.check(system, property_by_id("consistent-at-quiescence"))
    assert result.verdict == REFUTED
    assert [s.call for s in result.trace.steps] == [
        "cache.get", "db.get", "db.put", "cache.delete", "cache.set"]


def test_no_label_claims_more_than_the_scenario():
    """Every exploration is of one finite scenario: the labels say so, and none says
    "unbounded" (nothing here holds for any number of operations or clients)."""
    from model.protocols import TABLE

    for row in TABLE:
        outcome = run_row(row)
        for r in outcome.results:
            assert "unbounded" not in r.bound and "unbounded" not in (r.reason or "")
            assert r.scenario == row.scenario.describe()
            if r.verdict == PROVED:
                assert r.bound.startswith((EVERY_INTERLEAVING, EVERY_RUN)), r.bound
