"""The refinement check: every verdict of the explicit engine against the contract's monitor.

A PROVED row's histories are never rejected on the clause its property refines; a
REFUTED row's counterexample history is rejected by the contract; a wrong pairing (a
property that says PROVED where the contract rejects, or REFUTED where it accepts) is a
disagreement that fails `prove`, as a disagreement between the engines does.
"""

from __future__ import annotations

import io
import json

import attrs
import pytest

from model import CacheObserved, Crash, DbObserved, Fault, Invoke, Ok, Tick
from model.protocols import TABLE, build, property_by_id, protocol_by_id
from model.protocols.expr import TRUE, eq, implies
from proofs import explicit, refinement
from proofs.runner import run_row
from proofs.verdict import PROVED, REFUTED

ROW_IDS = [f"{r.protocol}--{r.property}--{i}" for i, r in enumerate(TABLE)]


def _row(protocol, prop):
    return next(r for r in TABLE if (r.protocol, r.property) == (protocol, prop))


def _check(row, prop=None, **kw):
    prop = prop or property_by_id(row.property)
    system = build(protocol_by_id(row.protocol), row.scenario)
    ex = explicit.explore(system)
    verdict = explicit.check(system, prop, ex).verdict
    return verdict, refinement.check(row, prop, ex, verdict, **kw)


@pytest.mark.parametrize("row", TABLE, ids=ROW_IDS)
def test_every_row_of_the_table_agrees_with_the_contract(row):
    verdict, ref = _check(row)
    assert verdict == row.expected
    assert ref.ok, ref.lines()
    if verdict == REFUTED:
        # Rejected, and both attributions are there to compare.
        assert ref.status == refinement.AGREES and ref.violation is not None
        assert ref.attributions() == f"property: {ref.clause}  |  contract: {ref.violation.clause}"


def test_the_known_gaps_of_the_table():
    # The one partial property proved in the table: no-phantom looks at the cache at
    # quiescence only, the clause at every read.
    gaps = {(r.protocol, r.property) for r in TABLE if _check(r)[1].status == refinement.GAP}
    assert gaps == {("wt-db-first-set", "no-phantom")}


def test_a_proved_row_explores_every_history():
    verdict, ref = _check(_row("wb-durable", "no-lost-ack"))
    assert (verdict, ref.status) == (PROVED, refinement.AGREES)
    assert ref.violation is None and ref.states > 100
    assert ref.contract == "write-behind, durable = True"


def test_a_refuted_rows_history_is_rejected_with_both_attributions():
    verdict, ref = _check(_row("ca-invalidate", "consistent-at-quiescence"))
    assert verdict == REFUTED and ref.status == refinement.AGREES
    assert (ref.clause, ref.violation.clause) == ("convergence", "convergence")
    kinds = [type(e) for e in ref.history]
    assert kinds[:2] == [Invoke, Invoke]  # the reader, then the writer
    assert Tick in kinds and CacheObserved in kinds and DbObserved in kinds
    assert ref.violation.observed.startswith("the cache holds 'v0' (no TTL)")
    # A stronger-guarantee row: judged by the clause it asks for.
    verdict, ref = _check(_row("wa-no-invalidate", "read-your-writes"))
    assert ref.contract == "write-around asked for linearizable-reads"
    assert ref.violation.clause == "linearizable-reads"


def test_faults_and_crashes_become_events():
    _, ref = _check(_row("wb-volatile", "no-lost-ack"))
    assert any(isinstance(e, Crash) for e in ref.history)
    assert ref.violation.clause == "bounded-loss"
    _, ref = _check(_row("wt-cache-first-set", "no-phantom"))
    assert any(isinstance(e, Fault) and e.kind == "db-down" for e in ref.history)
    reads = [e for e in ref.history if isinstance(e, Ok) and e.result is not None]
    assert reads and reads[-1].result == "v2"  # the observer reads the failed write's value
    assert ref.violation.clause == "no-phantom"


# ---- wrong pairings are caught --------------------------------------------------------------

def _never_violated(prop):
    return attrs.evolve(prop, predicate=lambda s: TRUE)


def _cache_always_empty(prop):
    return attrs.evolve(prop, predicate=lambda s: implies(s.observable("quiescent"),
                                                          eq(s.observable("cached"), 0)))


def test_a_property_that_proves_what_the_contract_rejects_disagrees():
    row = _row("ca-invalidate", "consistent-at-quiescence")
    verdict, ref = _check(row, _never_violated(property_by_id(row.property)))
    assert verdict == PROVED
    assert ref.status == refinement.DISAGREES and not ref.ok
    assert ref.violation.clause == "convergence"
    assert "PROVED, but the contract rejects a history on convergence" in ref.reason


def test_a_property_that_refutes_what_the_contract_accepts_disagrees():
    row = _row("wt-db-first-invalidate", "consistent-at-quiescence")
    system = build(protocol_by_id("wt-db-first-set"), row.scenario)  # sets v2: cache == DB
    wrong = _cache_always_empty(property_by_id(row.property))
    ex = explicit.explore(system)
    verdict = explicit.check(system, wrong, ex).verdict
    assert verdict == REFUTED
    ref = refinement.check(attrs.evolve(row, protocol="wt-db-first-set"), wrong, ex, verdict)
    assert ref.status == refinement.DISAGREES
    assert "accepts the counterexample's history and every continuation" in ref.reason


def test_a_protocol_variant_the_contract_rejects_is_caught(monkeypatch):
    """A protocol mutated so that it breaks its contract while the (equally mutated)
    property still says PROVED on both engines: only the refinement check sees it, and
    `prove` fails as on a disagreement between the engines."""
    from proofs import runner

    row = _row("ca-invalidate", "consistent-at-quiescence")
    real = runner.property_by_id
    monkeypatch.setattr(runner, "property_by_id",
                        lambda pid: _never_violated(real(pid)) if pid == row.property else real(pid))
    outcome = run_row(row)
    assert all(r.verdict == PROVED for r in outcome.results) and outcome.agree
    assert not outcome.settled
    assert "refinement DISAGREES" in outcome.note

    from cache_conformance.commands.prove import main

    out = io.StringIO()
    code = main(["prove", "--protocol", "ca-invalidate", "--property", "consistent-at-quiescence"],
                stream=out)
    assert code == 1
    assert "DISAGREES" in out.getvalue() and "NOT settled" in out.getvalue()


def test_a_bound_hit_is_unknown_never_a_pass():
    _, ref = _check(_row("ca-lease", "consistent-at-quiescence"), limit=5)
    assert ref.status == refinement.UNKNOWN and not ref.ok
    assert "more than 5 product states" in ref.reason


def test_only_the_explicit_engine_is_refined():
    outcome = run_row(_row("ca-lease", "consistent-at-quiescence"), engines=("z3",))
    assert outcome.refinement is None and outcome.settled


def test_prove_shows_labels_and_refinement_in_text_and_json(tmp_path):
    from cache_conformance.commands.prove import main

    path = tmp_path / "rows.json"
    out = io.StringIO()
    code = main(["prove", "--protocol", "wa-no-invalidate", "--json", str(path)], stream=out)
    text = out.getvalue()
    assert code == 0, text
    assert "read-your-writes *" in text and "* stronger-guarantee row" in text
    assert "stronger guarantee: write-around promises bounded-staleness, not linearizable-reads" in text
    assert "property: linearizable-reads  |  contract: linearizable-reads" in text
    assert "proved for this scenario only" in text and "unbounded" not in text
    rows = json.loads(path.read_text())
    ryw = [r for r in rows if r["property"] == "read-your-writes"]
    assert {r["stronger_guarantee"] for r in ryw} == {
        "write-around promises bounded-staleness, not linearizable-reads"}
    assert all(r["refinement"]["status"] == "agrees" for r in rows)
    assert {r["refinement"]["contract_clause"] for r in ryw} == {"linearizable-reads"}
    staleness = [r for r in rows if r["property"] == "bounded-staleness"]
    assert staleness and all(r["stronger_guarantee"] is None for r in staleness)
