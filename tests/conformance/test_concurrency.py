"""Concurrency: the scheduler's verdicts on subjects that deadlock, block outside the
harness or never yield; replayed schedules; exhaustive exploration; correct subjects that
must pass with several clients and several instances."""

from __future__ import annotations

import io
import json

import pytest

from conformance import Run, run_check
from cache_conformance.cli import main
from conformance.exhaustive import explore_schedules, parse_ops
from conformance.strategies import ScheduleMismatch

S = "tests.conformance.subjects"


def test_self_deadlocking_subject_is_a_liveness_violation():
    r = run_check(f"{S}:deadlocks", "write-through", clients=2, examples=100)
    assert r.verdict.status == "VIOLATES" and r.clause == "liveness"
    assert "deadlock" in r.verdict.violation.observed


@pytest.mark.serial  # a 0.5 s timeout
def test_thread_blocked_outside_the_harness_is_reported_not_hung():
    r = run_check(f"{S}:real_lock", "write-through", clients=2, examples=100, op_timeout=0.5)
    assert r.verdict.status == "VIOLATES" and r.clause == "liveness"
    assert "blocks outside the harness" in r.verdict.violation.observed


@pytest.mark.serial  # a 0.3 s timeout
def test_worker_that_never_yields_is_a_liveness_violation():
    r = run_check(f"{S}:busy_worker", "write-through", examples=20, op_timeout=0.3)
    assert r.verdict.status == "VIOLATES" and r.clause == "liveness"
    assert "worker" in r.verdict.violation.observed


def test_schedule_that_does_not_match_the_subject_is_a_usage_error(tmp_path):
    script = tmp_path / "ce.py"
    script.write_text(
        "from conformance import Run\n"
        f"run = Run('{S}:write_through', policy='write-through')\n"
        "run.concurrent([('c0', 'write', 'k0', 'v1'), ('c1', 'write', 'k0', 'v2')], schedule=['c0', 'c9'])\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", f"{S}:write_through", "--policy", "write-through", "--replay", str(script)],
                stdout=out, stderr=err)
    assert code == 2 and "the schedule does not match the subject" in err.getvalue()
    with pytest.raises(ScheduleMismatch):
        Run(f"{S}:write_through", "write-through").concurrent(
            [("c0", "write", "k0", "v1"), ("c1", "read", "k0")], schedule=["c1", "c7"])


def test_replay_reproduces_a_concurrent_violation_exactly(tmp_path):
    path = tmp_path / "r.json"
    r = run_check("implementations.mutants.synchronous:write_through_set_race", "write-through", clients=2)
    assert r.verdict.status == "VIOLATES" and "schedule=" in r.counterexample
    path.write_text(json.dumps(r.to_json()))
    for _ in range(3):
        out = io.StringIO()
        code = main(["check", "implementations.mutants.synchronous:write_through_set_race", "--policy",
                     "write-through", "--replay", str(path), "--no-timeline"], stdout=out, stderr=io.StringIO())
        assert code == 1 and f"clause broken: {r.clause}" in out.getvalue()
    out = io.StringIO()
    code = main(["check", "implementations.memory:write_through", "--policy", "write-through", "--replay",
                 str(path), "--no-timeline"], stdout=out, stderr=io.StringIO())
    assert code in (0, 2), out.getvalue()  # passes, or refuses a schedule its store calls do not fit


def test_exhaustive_finds_the_stale_fill_and_passes_the_guarded_fill():
    ops = parse_ops("c0:read:k0 c1:write:k0")
    bad = explore_schedules("implementations.mutants.synchronous:cache_aside_unguarded_fill", "cache-aside", ops,
                            initial={"k0": "v0"})
    assert bad.verdict.status == "VIOLATES" and bad.clause == "linearizable-reads"
    good = explore_schedules("implementations.memory:cache_aside", "cache-aside", ops, initial={"k0": "v0"})
    assert good.verdict.status == "CONFORMS" and good.examples > 10


def test_exhaustive_budget_is_unknown_not_a_pass():
    ops = parse_ops("c0:write:k0 c1:write:k0 c0:read:k0 c1:read:k0")
    r = explore_schedules("implementations.memory:write_through", "write-through", ops, preemptions=3, max_schedules=5)
    assert r.verdict.status == "UNKNOWN"


def test_pct_priority_schedules_find_the_set_race_and_replay():
    from conformance import ContractViolation
    from conformance.strategies import PCTChooser

    found = []
    for seed in range(30):
        run = Run("implementations.mutants.synchronous:write_through_set_race", "write-through")
        try:
            taken = run.concurrent([("c0", "write", "k0", "a"), ("c1", "write", "k0", "b")],
                                   chooser=PCTChooser(seed, depth=2, max_steps=8))
            run.read("k0")
        except ContractViolation:
            found.append(taken if "taken" in dir() else None)
            break
        finally:
            run.close()
    assert found, "30 PCT schedules of depth 2 never hit the DB-a, DB-b, set-b, set-a race"


@pytest.mark.slow
@pytest.mark.parametrize("name, policy", [("write_through", "write-through"), ("cache_aside", "cache-aside"),
                                          ("read_through", "read-through")])
@pytest.mark.parametrize("opts", [{"clients": 4}, {"instances": 2}, {"instances": 3, "clients": 3}],
                         ids=["4-clients", "2-instances", "3-instances"])
def test_guarded_implementations_pass_with_clients_and_instances(name, policy, opts):
    # 200 examples (the default was 200 when these were written): the races that matter
    # are explored exhaustively first, and nine of these checks at 500 take two minutes.
    r = run_check(f"implementations.memory:{name}", policy, examples=200, **opts)
    assert r.verdict.status == "CONFORMS", r.render()


@pytest.mark.slow
def test_write_behind_passes_with_concurrent_clients_and_worker():
    for name in ("write_behind", "durable_write_behind"):
        r = run_check(f"implementations.memory:{name}", "write-behind", clients=3, examples=200)
        assert r.verdict.status == "CONFORMS", r.render()


@pytest.mark.slow
def test_the_random_search_alone_finds_the_set_race(monkeypatch):
    # Every concurrent check explores the classic races exhaustively first; without them,
    # the schedules Hypothesis draws must still find a race on their own.
    import importlib

    check_module = importlib.import_module("conformance.check")  # the package re-exports check()
    monkeypatch.setattr(check_module, "_CANONICAL", {False: (), True: ()})
    r = run_check("implementations.mutants.synchronous:write_through_set_race", "write-through", clients=2)
    assert r.verdict.status == "VIOLATES" and "schedule=" in r.counterexample
    assert "exhaustive" not in (r.note or "")
