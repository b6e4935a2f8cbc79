"""Subject calls run inline on the checking thread; the caller's thread times them out
(conformance.env.Watchdog). A hang anywhere a check calls the subject is a liveness
verdict, and a call that returns after its check was given up does not run on."""

from __future__ import annotations

import threading
import time

import pytest

from conformance import run_check
from conformance.calls import Watchdog

from tests.conformance import subjects

S = "tests.conformance.subjects"

# serial: 0.3 s timeouts and a check judged within 5 s; another test at the same time can
# make a correct call late.
pytestmark = pytest.mark.serial


def _checking_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "conformance-check"]


def test_a_read_past_its_timeout_is_a_liveness_violation_and_the_late_return_unwinds():
    earlier = set(_checking_threads())  # other tests' subjects may still hang (for an hour)
    started = time.perf_counter()
    report = run_check(f"{S}:slow_read", "write-through", op_timeout=0.3)
    assert report.verdict.status == "VIOLATES"
    assert report.verdict.violation.clause == "liveness"
    assert "read('k0') did not return within 0.3 s" in report.verdict.violation.observed or \
        "read('k1') did not return within 0.3 s" in report.verdict.violation.observed
    # Judged at the deadline, not when the call came back.
    assert time.perf_counter() - started < 5
    assert report.counterexample and report.counterexample.rstrip().endswith(("read('k0')", "read('k1')"))
    # The read returns a second later; the abandoned check must then stop, not go on.
    deadline = time.monotonic() + 20
    while set(_checking_threads()) - earlier and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(_checking_threads()) - earlier


def test_a_factory_that_hangs_in_a_later_example_is_a_liveness_violation():
    subjects._builds[0] = 0
    report = run_check(f"{S}:hangs_on_third_build", "write-through", op_timeout=0.3)
    assert report.verdict.status == "VIOLATES"
    assert report.verdict.violation.clause == "liveness"
    assert "factory tests.conformance.subjects:hangs_on_third_build(env) did not return within 0.3 s" \
        in report.verdict.violation.observed


def test_calls_from_other_threads_are_not_inlined():
    # The watchdog watches one thread; anything else goes through the client thread, so a
    # hang there is still bounded by the timeout.
    from conformance.calls import Hung, OpRunner

    runner = OpRunner(0.2, Watchdog())
    try:
        runner.call(lambda: time.sleep(5), None, "sleep", inline=True)
    except Hung as e:
        assert "sleep did not return within 0.2 s" in str(e)
    else:
        raise AssertionError("a hang outside the watched thread was not timed out")


def test_a_conforming_check_returns_what_the_checking_thread_returned():
    wd = Watchdog()
    assert wd.run(lambda: 42) == 42
    try:
        wd.run(lambda: 1 / 0)
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("the checking thread's exception was lost")
    assert wd.ident is None


def _check_in_child(conn) -> None:  # the body of a forked process
    report = run_check("implementations.memory:write_through", "write-through", examples=3, clients=2)
    conn.send((report.verdict.status, report.verdict.reason, report.clause))
    conn.close()


def test_a_forked_process_gets_its_own_task_threads():
    """The report runs each check in a forked process. The parent's idle pooled task
    threads do not exist there: a check in the child must start its own, not wait (and be
    judged hung) for a thread that was never forked."""
    import multiprocessing

    warm = run_check("implementations.memory:write_through", "write-through", examples=3, clients=2)
    assert warm.verdict.status == "CONFORMS"  # and the parent now holds idle task threads
    assert any(t.name == "conformance-idle" for t in threading.enumerate())
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_check_in_child, args=(child,), daemon=True)
    proc.start()
    child.close()
    assert parent.poll(60), "the check in the forked process did not finish"
    assert parent.recv() == ("CONFORMS", None, None)
    proc.join(10)


def test_a_seed_draws_the_same_examples_whatever_else_the_process_imported(tmp_path, monkeypatch):
    """Hypothesis also draws integer literals of the user modules a process has imported;
    a check must not, or `--seed 0` would search differently in the CLI, under pytest and
    in a report worker (a bug found in one, missed in another)."""
    import importlib
    import sys

    def fingerprint() -> tuple:
        r = run_check("implementations.memory:write_through", "write-through", examples=40, seed=3)
        return r.verdict.status, r.examples, r.steps, tuple(map(repr, r.history))

    before = fingerprint()
    literals = ", ".join(str(n) for n in range(1, 720, 7))
    (tmp_path / "cc_many_literals.py").write_text(f"LITERALS = ({literals})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("cc_many_literals")
    try:
        assert fingerprint() == before
    finally:
        sys.modules.pop("cc_many_literals", None)


class _RecordsWorkerThreads:
    """A write-behind whose worker notes the thread it runs on and the task it is."""

    seen: list[tuple[int, object]] = []
    calls: list[int] = []

    def __init__(self, env):
        self.env, self.buffer = env, {}
        env.spawn(self._worker)

    def _worker(self):
        from conformance.scheduler import current_task

        while True:
            _RecordsWorkerThreads.seen.append((threading.get_ident(), current_task()))
            self.env.clock.sleep(1.0)
            self.flush()

    def write(self, key, value):
        from conformance.scheduler import current_task

        _RecordsWorkerThreads.calls.append((threading.get_ident(), current_task()))
        self.buffer[key] = value

    def read(self, key):
        from conformance.scheduler import current_task

        _RecordsWorkerThreads.calls.append((threading.get_ident(), current_task()))
        return self.buffer[key] if key in self.buffer else self.env.db.get(key)

    def flush(self):
        for k, v in list(self.buffer.items()):
            self.env.db.put(k, v)
            if self.buffer.get(k) == v:
                del self.buffer[k]


def test_workers_run_as_greenlets_on_the_checking_thread_under_check_and_as_threads_by_hand():
    from conformance import Run
    from conformance.scheduler import GreenTask

    _RecordsWorkerThreads.seen.clear()
    _RecordsWorkerThreads.calls.clear()
    report = run_check(_RecordsWorkerThreads, "write-behind", examples=30)
    assert report.verdict.status == "CONFORMS", report.render()
    checking = {ident for ident, _ in _RecordsWorkerThreads.calls}
    assert len(checking) == 1  # every subject call ran inline on the checking thread
    assert _RecordsWorkerThreads.seen and {ident for ident, _ in _RecordsWorkerThreads.seen} == checking
    # While the worker runs, the current task is the worker's; between its turns, the
    # subject's calls on the same thread see none (the thread-locals are swapped back).
    assert all(isinstance(task, GreenTask) for _, task in _RecordsWorkerThreads.seen)
    assert all(task is None for _, task in _RecordsWorkerThreads.calls)

    _RecordsWorkerThreads.seen.clear()
    run = Run(_RecordsWorkerThreads, "write-behind")
    try:
        run.write("k0", "v1")
        run.advance(1.0)
        assert run.env.raw_db.get("k0") == "v1"
    finally:
        run.close()
    assert _RecordsWorkerThreads.seen
    assert all(ident != threading.get_ident() and not isinstance(task, GreenTask)
               for ident, task in _RecordsWorkerThreads.seen)
