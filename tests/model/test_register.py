"""The fast register checker (model.register) on hand-written histories: the clause and
the evidence of each kind of violation, crashes, values written again, and the memory it
holds on a long history. Its verdicts are compared with the reference and the contract
machinery in test_register_differential.py."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings

from model import Crash, DbObserved, Fail, Invoke, Ok
from model.register import NotUnique, RegisterChecker, check_register, evidence_events
from tests.model.reference import linearizable
from tests.model.test_register_differential import register_histories

_ops = itertools.count(1)


def w(value, ok=True, key="k"):
    op = next(_ops)
    return [Invoke(op, "c", "write", key, value, 0.0), Ok(op, None, 0.0) if ok else Fail(op, "TimeoutError", 0.0)]


def r(result, key="k"):
    op = next(_ops)
    return [Invoke(op, "c", "read", key, None, 0.0), Ok(op, result, 0.0)]


def h(*parts):
    return [e for p in parts for e in p]


def test_sequential_reads_of_the_latest_write_conform():
    assert check_register(h(r(None), w("a"), r("a"), w("b"), r("b"), r("b"))).ok


def test_a_stale_read_is_a_linearizable_reads_violation_with_both_clusters_as_evidence():
    history = h(w("a"), w("b"), r("a"))
    v = check_register(history)
    assert v.status == "VIOLATES" and v.violation.clause == "linearizable-reads"
    assert v.violation.event == history[-1]
    assert "'b' must precede 'a'" in v.violation.observed


def test_a_value_never_written_is_a_phantom():
    v = check_register(h(w("a"), r("zzz")))
    assert v.status == "VIOLATES" and v.violation.clause == "no-phantom"


def test_a_read_before_its_write_is_invoked_is_a_phantom():
    read, write = r("a"), w("a")
    v = check_register(h(read, write))
    assert v.status == "VIOLATES" and v.violation.clause == "no-phantom"


def test_a_failed_write_may_take_effect_late_or_never_but_once():
    assert check_register(h(w("a", ok=False), r(None), w("b"), r("b"), r("a"), r("a"))).ok
    assert check_register(h(w("a", ok=False), r(None), r(None))).ok
    assert not check_register(h(w("a", ok=False), r("a"), w("b"), r("b"), r("a"))).ok


def test_a_crash_ends_what_a_failed_write_can_do():
    cut = h(w("a", ok=False), [Crash(0.0)])
    assert check_register(h(cut, r("a"), r("a"))).ok  # it took effect before the crash
    assert check_register(h(cut, r(None))).ok  # or never
    assert not check_register(h(cut, w("b"), r("a"))).ok  # not after the crash
    assert not check_register(h(cut, r(None), r("a"))).ok


def test_an_open_read_cut_by_a_crash_says_nothing():
    op = next(_ops)
    assert check_register(h(w("a"), [Invoke(op, "c", "read", "k", None, 0.0), Crash(0.0)], w("b"), r("b"))).ok


def test_a_db_observation_is_a_read_at_an_instant():
    assert check_register(h(w("a"), [DbObserved("k", "a", 0.0)], r("a"))).ok
    assert not check_register(h(w("a"), w("b"), [DbObserved("k", "a", 0.0)])).ok


def test_initial_values_per_key():
    assert check_register(h(r("x", key="k"), r(None, key="j")), initial={"k": "x"}).ok
    assert not check_register(h(r(None, key="k")), initial={"k": "x"}).ok


def test_a_value_written_again_while_readable_is_refused():
    with pytest.raises(NotUnique):
        check_register(h(w("a"), w("a")))


def test_a_value_written_again_after_it_was_overwritten_for_good_is_a_new_write():
    # 'a' is dead once 'b' completed after it and the read of 'b' began after that:
    # the second write of 'a' is then a write of its own (as each delete's tombstone).
    history = h(w("a"), w("b"), r("b"), w("c"), r("c")) + h(w("a"), r("a"))
    assert RegisterChecker(sweep_from=1).check(history) is None


def test_a_read_of_a_dropped_value_is_checked_again_to_name_both_sides():
    history = h(w("a"), r("a"), *[w(f"x{i}") for i in range(100)], r("a"))
    v = check_register(history)
    assert v.status == "VIOLATES" and v.violation.clause == "linearizable-reads"
    assert "must precede" in v.violation.observed


@settings(max_examples=500, deadline=None)
@given(history=register_histories())
def test_the_evidence_alone_is_not_linearizable(history):
    conflict = RegisterChecker(retire=False).check(history)
    if conflict is not None:
        sub = evidence_events(history, conflict)
        assert sub and not linearizable(sub)


def test_memory_is_the_values_that_can_still_be_read():
    """A long, concurrent, linearizable history: the checker holds a few dozen clusters
    per key, not one per write (it looks for dead ones from 16 clusters on, here)."""
    rounds, clients, keys = 20_000, 8, 4
    events, op, inflight, store = [], 0, {}, {}
    for i in range(rounds):
        c = i % clients
        if c in inflight:
            o, kind, key, v = inflight.pop(c)
            if kind == "write":
                store[key] = v
                events.append(Ok(o, None, 0.0))
            else:
                events.append(Ok(o, store.get(key), 0.0))
        else:
            op += 1
            key = f"k{op % keys}"
            kind = "write" if op % 3 else "read"
            inflight[c] = (op, kind, key, f"v{op}" if kind == "write" else None)
            events.append(Invoke(op, f"c{c}", kind, key, inflight[c][3], 0.0))
    checker = RegisterChecker(sweep_from=16)
    peak = 0
    for e in events:
        assert checker.feed(e) is None
        peak = max(peak, max((len(k.clusters) for k in checker.keys.values()), default=0))
    assert peak < 100
