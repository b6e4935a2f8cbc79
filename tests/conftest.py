"""Suite-wide rules (tests/README.md says more).

* Under CI (CI=true) a skipped test is a failure, because every server a test needs runs on
  the CI machine and a silent skip would hide a missing install step.
* The suite runs on every core (pytest-xdist: `-n logical --dist loadgroup`, pyproject's
  addopts). Tests marked `serial` (they kill servers, time things or load the machine
  themselves) form one xdist group, so one worker runs them one after another, and each of
  them runs *alone*: while one runs, no other worker runs a test (a file lock; without
  xdist there is nothing to exclude). Tests marked `slow` are handed out first, so that no
  long test starts last.
* Every test that reaches PostgreSQL gets the `postgres` marker (its own database per
  worker: tests/redis/conftest.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import IO

import pytest

SERIAL = "serial"
# Set by the controlling process for the workers it starts (they inherit it): a directory
# of this run's own, for the lock files and each test's xdist group.
RUN_DIR = "CC_TESTS_RUN_DIR"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if not _is_worker(config):  # a run of its own, even in a process started by another run
        os.environ[RUN_DIR] = tempfile.mkdtemp(prefix="cc-tests-")
        config._cc_run_dir = os.environ[RUN_DIR]  # type: ignore[attr-defined]  # removed at unconfigure
    if _is_worker(config):
        run_dir = Path(os.environ.get(RUN_DIR) or Path(tempfile.gettempdir(), "cc-tests-" + os.environ["PYTEST_XDIST_TESTRUNUID"]))
        run_dir.mkdir(exist_ok=True)
        config.pluginmanager.register(_Exclusive(run_dir), "cc-serial-lock")


def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = getattr(config, "_cc_run_dir", None)
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
        os.environ.pop(RUN_DIR, None)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[str, str] = {}
    for item in items:
        if item.get_closest_marker(SERIAL) is not None:
            item.add_marker(pytest.mark.xdist_group(SERIAL))
        callspec = getattr(item, "callspec", None)
        # `database` (tests/redis/conftest.py) is SQLite or PostgreSQL; pg_url is PostgreSQL.
        if "pg_url" in getattr(item, "fixturenames", ()) or (
                callspec is not None and callspec.params.get("database") == "postgres"):
            item.add_marker(pytest.mark.postgres)
        names = {str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                 for m in item.iter_markers("xdist_group")}
        if names:
            groups[item.nodeid] = "_".join(sorted(names))
    if _is_worker(config):
        # The same order on every worker (xdist checks it): slow tests first, each kind in
        # collection order; xdist hands out the groups (the serial one first: the largest)
        # before the single tests.
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
        if RUN_DIR in os.environ:  # for the controller's scheduler (pytest_xdist_make_scheduler)
            worker = config.workerinput["workerid"]  # type: ignore[attr-defined]
            Path(os.environ[RUN_DIR], f"groups-{worker}.json").write_text(json.dumps(groups))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """--dist loadgroup, with the groups read from what the workers wrote at collection.

    pytest-xdist 3.8 marks a test's group by appending `@group` to its node id, which
    pytest 9.2 no longer reads (a node's id is no longer `_nodeid`), so every test would be
    scheduled on its own. The controller does not collect, so the workers write each test's
    group to this run's directory, and the scheduler takes a test's group from there (or
    from its `@group` suffix where xdist's own marking works)."""
    if config.getoption("dist") != "loadgroup" or RUN_DIR not in os.environ:
        return None
    from xdist.scheduler import LoadGroupScheduling

    run_dir = Path(os.environ[RUN_DIR])

    class _FileGroupScheduling(LoadGroupScheduling):
        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:  # called once every worker has collected
                self._groups = {}
                for path in sorted(run_dir.glob("groups-*.json")):
                    self._groups.update(json.loads(path.read_text()))
            return self._groups.get(nodeid) or super()._split_scope(nodeid)

    return _FileGroupScheduling(config, log)


class _Exclusive:
    """A readers-writer lock between the workers of one run: a test marked `serial` holds it
    exclusively (and keeps it across consecutive serial tests), every other test shares it.
    A turnstile keeps a waiting serial test from being starved by the other workers' stream
    of shared holders. Locks held by a worker that dies are released by the kernel."""

    def __init__(self, run_dir: Path) -> None:
        self._turnstile: IO[bytes] = open(run_dir / "turnstile.lock", "ab")  # noqa: SIM115
        self._rw: IO[bytes] = open(run_dir / "serial.lock", "ab")  # noqa: SIM115
        self._exclusive = False

    def _acquire(self, serial: bool) -> None:
        if serial and self._exclusive:
            return  # still held from the previous serial test
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        if serial:
            fcntl.flock(self._rw, fcntl.LOCK_EX)  # and keeps the turnstile: no one enters
            self._exclusive = True
        else:
            fcntl.flock(self._rw, fcntl.LOCK_SH)
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)

    def _release(self) -> None:
        fcntl.flock(self._rw, fcntl.LOCK_UN)
        if self._exclusive:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)
            self._exclusive = False

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        serial = item.get_closest_marker(SERIAL) is not None
        self._acquire(serial)
        try:
            yield
        finally:
            # A serial test keeps the lock for the next one only: a worker must never wait
            # for work while holding it.
            if not (serial and nextitem is not None and nextitem.get_closest_marker(SERIAL) is not None):
                self._release()

    def pytest_unconfigure(self) -> None:
        self._turnstile.close()
        self._rw.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    workers = config.getoption("numprocesses", None)
    if not workers:
        return None
    return (f"cache-conformance tests: {workers} xdist workers, dist {config.getoption('dist')}; "
            f"tests marked '{SERIAL}' run alone (tests/README.md)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(
            f"CI: {len(skipped)} test(s) skipped; under CI every server must be reachable, "
            "so a skip is a failure:", red=True)
        for rep in skipped:
            reporter.write_line(f"  {rep.nodeid}: {rep.longrepr[-1] if isinstance(rep.longrepr, tuple) else rep.longrepr}")
        session.exitstatus = 1
