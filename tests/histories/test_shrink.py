"""Delta debugging: the counterexample is a failing sub-history that is 1-minimal (leaving
out any one of its operations or events makes the key conform or break another clause),
checked here independently of the code that found it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from model import VIOLATES, Contract, check_history, policy
from model.events import Fail, Invoke, Ok

from conformance.histories.check import check_file
from conformance.histories.shrink import Budget, ddmin, one_minimal
from tests.histories.cli import DATA
from tests.histories.gen import write, write_through_history


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1), min_size=1))))
def test_ddmin_finds_exactly_what_a_failure_needs(case: tuple[int, set[int]]) -> None:
    n, needed = case
    units = [[i] for i in range(n)]  # distinct objects, as the check's units are
    shrunk = ddmin(units, lambda chosen: needed <= {u[0] for u in chosen})
    assert {u[0] for u in shrunk.units} == needed and shrunk.minimal


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sets(st.integers(0, 30), min_size=1, max_size=3), min_size=1, max_size=4))
def test_ddmin_is_one_minimal_when_several_subsets_fail(alternatives: list[set[int]]) -> None:
    units = [[i] for i in range(31)]

    def fails(chosen) -> bool:
        have = {u[0] for u in chosen}
        return any(a <= have for a in alternatives)

    shrunk = ddmin(units, fails)
    assert shrunk.minimal and one_minimal(list(shrunk.units), fails)
    assert all(not fails([u for u in shrunk.units if u is not left]) for left in shrunk.units)


def test_an_exhausted_budget_is_said_not_minimal() -> None:
    units = [[i] for i in range(200)]
    shrunk = ddmin(units, lambda chosen: {7, 150} <= {u[0] for u in chosen}, Budget(checks=3))
    assert not shrunk.minimal


def _units(events):
    """The events of the sub-history grouped as delta debugging leaves them out: an
    operation's invocation and completion together, every other event alone."""
    groups: dict[object, list] = {}
    for i, e in enumerate(events):
        groups.setdefault(("op", e.op) if isinstance(e, (Invoke, Ok, Fail)) else ("event", i), []).append(e)
    return list(groups.values())


def _breaks(contract, events, key, clause) -> bool:
    v = check_history(contract, events)
    return v.status == VIOLATES and v.violation.key == key and v.violation.clause == clause


def _assert_one_minimal(path: Path, pol: str):
    result = check_file(path, pol)
    v = result.report.verdict.violation
    cx = result.counterexample
    assert result.status == VIOLATES and cx is not None and cx.minimal
    contract = Contract(policy(pol))
    assert _breaks(contract, list(cx.events), v.key, v.clause)
    units = _units(cx.events)
    assert len(units) >= 1
    for left in units:
        rest = [e for u in units if u is not left for e in u]
        assert not _breaks(contract, rest, v.key, v.clause), f"still fails without {left}"
    return result


def test_the_counterexamples_of_the_sample_histories_are_one_minimal() -> None:
    for name in ("stale.jsonl", "stale.edn", "stale.porcupine.jsonl", "failed-write-read.edn"):
        _assert_one_minimal(DATA / name, "write-through")


def test_a_long_history_shrinks_to_a_one_minimal_counterexample(tmp_path) -> None:
    path = write(tmp_path / "h.jsonl", write_through_history(1200, keys=3, violate="k1", seed=4))
    result = _assert_one_minimal(path, "write-through")
    assert result.counterexample.operations <= 4 < result.counterexample.of_operations
