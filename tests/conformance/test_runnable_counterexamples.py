"""Every printed counterexample runs as printed, in a fresh Python, from another working
directory: a `path/to/file.py:factory` target (given relative to where the check ran, or
as a factory object loaded from the file), also when the exhaustive pre-phase of a
concurrent check finds the bug, and a violation inside a concurrent batch (which once
printed the placeholder `run.concurrent(...)`)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cache_conformance.cli import main
from conformance import run_check
from conformance.target import load_factory

ROOT = Path(__file__).resolve().parents[2]

# Cache first, then the DB: a read sees a value whose DB write failed (no-phantom, found
# by the random search), and a read racing a write fills the old value (found by the
# exhaustive pre-phase of a concurrent check).
SUBJECT = '''
class CacheFirst:
    def __init__(self, env):
        self.env = env

    def write(self, key, value):
        self.env.cache.set(key, value, ttl=60)
        self.env.db.put(key, value)

    def read(self, key):
        v = self.env.cache.get(key)
        if v is not None:
            return v
        v = self.env.db.get(key)
        if v is not None:
            self.env.cache.set(key, v, ttl=60)
        return v
'''


def _printed(out: str) -> str:
    """The counterexample as `check` prints it (between its heading and the timeline)."""
    start = out.index("counterexample (runnable):\n\n") + len("counterexample (runnable):\n\n")
    end = out.find("\n\ntimeline:", start)
    return out[start:end if end != -1 else None].strip("\n")


def _run_as_printed(script: str, where: Path) -> subprocess.CompletedProcess:
    """`script` saved to a file and run by a fresh Python from `where` (not the directory
    the check ran in); only the harness is on its path."""
    where.mkdir(parents=True, exist_ok=True)
    path = where / "counterexample.py"
    path.write_text(script + "\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(path)], cwd=where, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _assert_reproduces(script: str, clause: str, where: Path, error: str = "ContractViolation") -> None:
    assert "_cc_target_" not in script and "concurrent(...)" not in script, script
    done = _run_as_printed(script, where)
    assert done.returncode == 1, (script, done.stderr)
    assert f"{error}: {clause}" in done.stderr, (script, done.stderr)


@pytest.fixture
def subject_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "project"
    home.mkdir()
    (home / "cache.py").write_text(SUBJECT, encoding="utf-8")
    monkeypatch.chdir(home)  # the check is given the path relative to here
    return home


@pytest.mark.parametrize("concurrency", [(), ("--clients", "2"), ("--instances", "2")],
                         ids=["sequential", "clients", "instances"])
def test_a_file_target_given_by_a_relative_path_runs_as_printed(subject_dir, tmp_path, concurrency):
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "cache.py:CacheFirst", "--policy", "write-through", *concurrency],
                stdout=out, stderr=err)
    text = out.getvalue()
    assert code == 1, err.getvalue()
    if concurrency:
        assert "before the random search" in text, text  # the exhaustive pre-phase found it
    clause = next(line.split(":", 1)[1].split("—")[0].strip() for line in text.splitlines()
                  if line.startswith("clause broken:"))
    script = _printed(text)
    assert f"Run('{subject_dir / 'cache.py'}:CacheFirst'" in script, script
    _assert_reproduces(script, clause, tmp_path / "elsewhere")


def test_a_factory_object_loaded_from_a_file_is_named_by_its_file(subject_dir, tmp_path):
    factory, _ = load_factory("cache.py:CacheFirst")
    report = run_check(factory, "write-through", clients=2)
    assert report.verdict.status == "VIOLATES"
    assert report.target == f"{subject_dir / 'cache.py'}:CacheFirst"
    _assert_reproduces(report.counterexample or "", report.clause or "", tmp_path / "elsewhere")


def test_a_liveness_failure_inside_a_batch_prints_its_schedule(tmp_path):
    # Two clients take two locks in opposite orders: the deadlock shows inside the batch.
    report = run_check("tests.conformance.subjects:deadlocks", "write-through", clients=2, examples=100)
    assert report.clause == "liveness", report.render()
    script = report.counterexample or ""
    assert "run.concurrent([" in script and "schedule=[" in script, script
    _assert_reproduces(script, "liveness", tmp_path, error="LivenessFailure")


def test_a_subject_error_inside_a_batch_prints_its_schedule(tmp_path):
    report = run_check("tests.conformance.raising_subjects:own_bug", "write-through", clients=2, examples=50)
    assert report.clause == "subject-error", report.render()
    script = report.counterexample or ""
    assert "run.concurrent([" in script, script
    _assert_reproduces(script, "subject-error", tmp_path)
