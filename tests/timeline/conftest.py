"""Reports to draw. The fixtures replay known counterexamples through `Run` (the harness that
`run_check` drives) and package them as `run_check` does, so the drawings are of real
histories, traces and violations but do not move when the search strategy changes; the
end-to-end tests in test_check.py draw whatever `run_check` itself reports."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance import CheckReport, ContractViolation, Run
from conformance.timeline import build
from model import CONFORMS, VIOLATES, Verdict

RACY = "tests.timeline.subjects:racy_write_through"


def replay(target: str, policy: str, script: Callable[[Run], None]) -> CheckReport:
    """Run `script` on a fresh Run and report it like run_check reports its shown run."""
    run = Run(target, policy=policy)
    try:
        try:
            script(run)
            verdict, example = Verdict(CONFORMS), None
        except ContractViolation as e:
            verdict, example = Verdict(VIOLATES, e.violation), e.script
        return CheckReport(target=run.label, policy=policy, verdict=verdict, examples=1, steps=len(run.lines),
                           seconds=0.0, counterexample=example, history=tuple(run.events),
                           trace=tuple(run.env.trace))
    finally:
        run.close()


def _seq(run: Run) -> None:
    run.fault("db-down")
    run.write("k0", "v1")
    run.read("k0")
    run.finish()


def _racy(run: Run) -> None:
    run.write("k0", "v1")
    # c0's DB put lands first, then c1's put and cache set, then c0's stale cache set.
    run.concurrent([("c0", "write", "k0", "v2"), ("c1", "write", "k0", "v3")],
                   schedule=["c0", "c0", "c1", "c1", "c1", "c0"])
    run.read("k0")
    run.finish()


def _worker(run: Run) -> None:
    run.write("k0", "v1")
    run.concurrent([("c0", "write", "k0", "v2"), ("c1", "read", "k0")], schedule=["c0", "c0", "c1"])
    run.advance(10)  # the flush worker wakes up and persists k0
    run.write("k1", "v3")
    run.finish()


@pytest.fixture(scope="session")
def seq_report() -> CheckReport:
    """cache-first write-through: with the DB down, the failed write's value is still read."""
    report = replay("tests.conformance.subjects:cache_first", "write-through", _seq)
    assert report.verdict.status == VIOLATES, report.render()
    return report


@pytest.fixture(scope="session")
def racy_report() -> CheckReport:
    """Two writers of the racy write-through: the cache keeps the older value."""
    report = replay(RACY, "write-through", _racy)
    assert report.verdict.status == VIOLATES, report.render()
    return report


@pytest.fixture(scope="session")
def worker_report() -> CheckReport:
    """Volatile write-behind with its flush worker: conforms."""
    report = replay("implementations.memory:write_behind", "write-behind", _worker)
    assert report.verdict.status == CONFORMS, report.render()
    return report


def _failing(run: Run) -> None:
    # Back-to-back failed calls: their error texts are far longer than the room between them.
    run.fault("db-down")
    for i in range(3):
        run.write("k0", f"v{i}")
    run.fault("db-up")
    for i in range(3):
        run.fault("db-timeout")
        run.write("k1", f"w{i}")
    run.concurrent([("c0", "write", "k0", "v9"), ("c1", "write", "k1", "v8")],
                   schedule=["c0", "c1", "c0", "c1", "c0", "c1"])
    run.read("k0")
    run.finish()


@pytest.fixture(scope="session")
def failing_report() -> CheckReport:
    """The memory write-through with the DB down and timing out: six failed writes in a row,
    each with a long error ('StoreTimeout: database timed out (injected fault) during ...')."""
    report = replay("implementations.memory:write_through", "write-through", _failing)
    assert report.verdict.status == CONFORMS, report.render()
    assert sum(1 for o in build(report).ops if o.outcome == "fail") == 6
    return report
