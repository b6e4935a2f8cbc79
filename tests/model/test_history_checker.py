"""The history checker on large generated concurrent histories (the benchmark's generator):
a linearizable history passes, and a single tampered read, or a DB regression, fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from attrs import evolve

from model import Contract, DbObserved, Invoke, Ok, check_history, policy

_spec = importlib.util.spec_from_file_location(
    "history_checker", Path(__file__).parents[2] / "benchmarks" / "history_checker.py")
bench = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


def _contract():
    return Contract(policy("write-through"))


def test_generated_linearizable_history_conforms():
    events = bench.make_history(3000)
    assert check_history(_contract(), events).status == "CONFORMS"


def test_one_tampered_read_is_caught():
    events = bench.make_history(3000)
    kinds = {e.op: e for e in events if isinstance(e, Invoke)}
    # the last read that returned a value: make it return a value written earlier to that key
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if isinstance(e, Ok) and kinds[e.op].kind == "read" and e.result is not None:
            key = kinds[e.op].key
            older = next(x.value for x in events if isinstance(x, Invoke) and x.kind == "write"
                         and x.key == key and x.value != e.result)
            events[i] = evolve(e, result=older)
            break
    v = check_history(_contract(), events)
    assert v.status == "VIOLATES" and v.violation.clause == "linearizable-reads"


def test_phantom_value_is_caught():
    events = bench.make_history(500)
    kinds = {e.op: e for e in events if isinstance(e, Invoke)}
    i = next(i for i, e in enumerate(events) if isinstance(e, Ok) and kinds[e.op].kind == "read")
    events[i] = evolve(events[i], result="never-written")
    v = check_history(_contract(), events)
    assert v.status == "VIOLATES" and v.violation.clause == "no-phantom"


def test_db_going_back_is_a_regression():
    events = bench.make_history(500)
    writes = [e for e in events if isinstance(e, Invoke) and e.kind == "write" and e.key == "k0"]
    t = events[-1].time + 1
    a, b = writes[-2].value, writes[-1].value
    tail = [DbObserved("k0", b, t), DbObserved("k0", a, t)]
    v = check_history(_contract(), events + tail)
    assert v.status == "VIOLATES"


def test_the_fast_checker_on_generated_histories_and_their_tampered_twins():
    from model.register import check_register

    for clients in (8, 32):
        events = bench.make_history(20_000, clients=clients)
        assert check_register(events).status == "CONFORMS"
        v = check_register(bench.tamper(events))
        assert v.status == "VIOLATES" and v.violation.clause == "linearizable-reads"


def test_a_tampered_history_violates_the_contract_too():
    v = check_history(_contract(), bench.tamper(bench.make_history(3000)))
    assert v.status == "VIOLATES"


def test_the_history_file_gives_both_checkers_the_same_history(tmp_path):
    from model.register import RegisterChecker, rows

    events = bench.make_history(2000, clients=4)
    path = tmp_path / "h.txt"
    bench.write_history(events, path)
    assert bench.read_rows(path) == list(rows(events))
    again = bench.read_events(path)
    assert [(type(e), getattr(e, "op", None), getattr(e, "result", None)) for e in again] == \
        [(type(e), getattr(e, "op", None), getattr(e, "result", None)) for e in events]
    assert RegisterChecker().run(bench.read_rows(path)) is None
