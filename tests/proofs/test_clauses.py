"""Clauses from one source: every step-level property names the contract clause it refines
(validated against model.clauses), says how exactly, and a row that asks a protocol for
more than its policy promises is labelled as such, by derivation."""

from __future__ import annotations

import pytest

from model import CLAUSES, policy
from model.protocols import (
    EXACT,
    PARTIAL,
    PROPERTIES,
    PROTOCOLS,
    REQUIRED,
    STALENESS,
    TABLE,
    Property,
    Refines,
    build,
    property_by_id,
    protocol_by_id,
    stronger_guarantee,
)
from model.protocols.expr import And
from proofs import explicit, symbolic
from proofs.runner import run_row


def test_every_property_refines_a_known_clause_with_a_stated_form():
    for prop in PROPERTIES:
        ref = prop.refines
        assert ref.clause is CLAUSES[ref.clause.id], prop.id
        assert prop.clause == ref.clause.id
        assert ref.form in (EXACT, PARTIAL) and ref.reading, prop.id
    forms = {p.id: p.refines.form for p in PROPERTIES}
    assert forms["read-your-writes"] == PARTIAL  # a client's own writes only
    assert forms["bounded-staleness"] == EXACT
    assert forms["consistent-at-quiescence"] == EXACT


def test_an_unknown_clause_id_fails_when_the_property_is_defined():
    with pytest.raises(KeyError, match="unknown clause 'linearisable-reads'"):
        Refines("linearisable-reads", EXACT, "a typo")
    with pytest.raises(ValueError, match="form must be"):
        Refines("convergence", "roughly", "neither exact nor partial")
    with pytest.raises(KeyError):
        Property("p", Refines("no-such-clause", EXACT, ""), "", lambda s: None)


def test_a_clause_promised_by_implication():
    assert policy("cache-aside").promises("bounded-staleness")  # linearizable implies it
    assert not policy("write-around").promises("linearizable-reads")
    assert not policy("write-behind").promises("durable-on-ack")
    assert policy("write-around").asked_for("linearizable-reads").read_clause == "linearizable-reads"
    assert policy("write-behind").asked_for("durable-on-ack").buffered is False
    assert policy("write-around").asked_for("bounded-staleness") is policy("write-around")


def test_stronger_guarantee_rows_are_derived_not_listed():
    labelled = {(r.protocol, r.property): r.stronger_guarantee for r in TABLE
                if r.stronger_guarantee}
    assert labelled == {
        ("wa-no-invalidate", "read-your-writes"):
            "write-around promises bounded-staleness, not linearizable-reads",
        ("wb-volatile", "no-lost-ack"):
            "wb-volatile keeps acknowledged writes in process memory (durable = False); the "
            "property reads bounded-loss for a subject that declares durable = True",
    }
    # The same derivation on every pair: exactly the clauses the policy does not promise.
    for proto in PROTOCOLS:
        for prop in PROPERTIES:
            label = stronger_guarantee(proto, prop)
            promised = policy(proto.policy).promises(prop.clause)
            durable_asked = prop.refines.durable and not proto.durable
            assert (label is not None) == (not promised or durable_asked), (proto.id, prop.id)


def test_the_stronger_guarantee_row_stays_required():
    row = next(r for r in REQUIRED if r.stronger_guarantee
               and protocol_by_id(r.protocol).policy == "write-around")
    assert (row.protocol, row.property, row.expected) == (
        "wa-no-invalidate", "read-your-writes", "REFUTED")


# ---- bounded staleness: the step-level form, on both engines ------------------------------

STALE_IDS = [f"{r.protocol}--{r.property}" for r in STALENESS]


@pytest.mark.parametrize("row", STALENESS, ids=STALE_IDS)
def test_bounded_staleness_rows_on_both_engines(row):
    assert property_by_id(row.property).applies(row.scenario) is None
    outcome = run_row(row)
    assert outcome.settled, outcome.note
    explicit_result, z3_result = outcome.results
    assert explicit_result.verdict == z3_result.verdict == row.expected
    if row.expected == "REFUTED":
        assert len(explicit_result.trace) == len(z3_result.trace)
        assert any(s.fault == "clock-advance" for s in explicit_result.trace.steps)
        # The stale read is a cache hit after the clock passed the TTL.
        assert explicit_result.trace.steps[-1].call == "cache.get"


def test_write_around_meets_the_staleness_bound_it_breaks_read_your_writes_on():
    """The same scenario: read-your-writes refuted (the writer reads the stale fill), bounded
    staleness proved (the TTL ends it)."""
    row = next(r for r in STALENESS if r.protocol == "wa-no-invalidate")
    system = build(protocol_by_id(row.protocol), row.scenario)
    assert explicit.check(system, property_by_id("read-your-writes")).verdict == "REFUTED"
    assert explicit.check(system, property_by_id("bounded-staleness")).verdict == "PROVED"
    assert symbolic.check(system, property_by_id("bounded-staleness"), 40).verdict == "PROVED"


def test_the_ttl_is_what_bounds_staleness():
    from model.protocols import make_scenario
    from model.protocols.system import INITIAL, Faults

    # Without a clock advance, nothing is older than T: the property does not apply.
    assert "clock advance" in property_by_id("bounded-staleness").applies(
        make_scenario({"c0": ["write", "read"]}, Faults(), INITIAL))
    scenario = STALENESS[0].scenario
    calls = {}
    for pid in ("wa-no-invalidate", "wa-untimed-fill", "ca-invalidate"):
        result = explicit.check(build(protocol_by_id(pid), scenario),
                                property_by_id("bounded-staleness"))
        calls[pid] = [s.fault or s.call for s in result.trace.steps] if result.trace else None
    # With a TTL the stale fill ends; without one it is served after the clock passed T.
    assert calls == {
        "wa-no-invalidate": None,
        "wa-untimed-fill": ["cache.get", "db.get", "cache.set", "db.put", "clock-advance",
                            "cache.get"],
        "ca-invalidate": ["cache.get", "db.get", "db.put", "cache.delete", "cache.set",
                          "clock-advance", "cache.get"],
    }


@pytest.mark.parametrize("row", STALENESS, ids=STALE_IDS)
def test_the_clock_moves_only_between_operations(row):
    """As the harness moves it: no operation is in progress when the clock passes the TTL,
    so a write takes effect, and a read returns, within one TTL period."""
    system = build(protocol_by_id(row.protocol), row.scenario)
    index = system.index()
    inside: dict[str, set[int]] = {}
    for client in system.scenario.clients:
        pcs: dict[int, set[int]] = {}  # op -> the pcs of its steps (the builder's guard: pc == n and ...)
        for a in system.actions:
            if a.actor == client.name:
                test = a.guard.args[0] if isinstance(a.guard, And) else a.guard
                pcs.setdefault(a.op, set()).add(test.right.value)
        inside[client.name] = {pc for steps in pcs.values() for pc in steps if pc != min(steps)}
    ex = explicit.explore(system)
    advances = [u for u, _, a in ex.graph.edges(data="action")
                if system.actions[a].fault == "clock-advance"]
    assert advances
    for u in advances:
        for name, pcs in inside.items():
            assert ex.states[u][index[f"{name}_pc"]] not in pcs, (row.protocol, name)
