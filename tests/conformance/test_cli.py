"""The CLI: verdicts, exit codes, JSON, and one clear line for every kind of bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cache_conformance.cli import main

HERE = Path(__file__).parent
S = "tests.conformance.subjects"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_conforming_subject_exits_0_and_writes_json(tmp_path):
    path = tmp_path / "r.json"
    code, out, err = run("check", f"{S}:write_through", "--policy", "write-through", "--examples", "60", "--json", str(path))
    assert code == 0, out + err
    assert out.startswith("CONFORMS")
    data = json.loads(path.read_text())
    for field in ("policy", "verdict", "clause", "examples", "steps", "seconds", "counterexample"):
        assert field in data
    assert data["verdict"] == "CONFORMS" and data["clause"] is None and data["examples"] >= 60


def test_violating_subject_exits_1_with_runnable_counterexample(tmp_path):
    path = tmp_path / "r.json"
    code, out, _ = run("check", f"{S}:cache_first", "--policy", "write-through", "--json", str(path))
    assert code == 1
    data = json.loads(path.read_text())
    assert data["verdict"] == "VIOLATES" and data["clause"] == "no-phantom"
    assert "run.fault('db-down')" in data["counterexample"] and data["counterexample"] in out


def test_file_path_target(tmp_path):
    code, out, _ = run("check", str(HERE / "subjects.py") + ":write_through", "--policy", "write-through", "--examples", "20")
    assert code == 0, out


@pytest.mark.parametrize(
    "argv, message",
    [
        (("check", f"{S}:write_through", "--policy", "write-sideways"), "unknown policy 'write-sideways'"),
        (("check", "no.such.module:factory", "--policy", "write-through"), "cannot import module 'no.such.module'"),
        (("check", f"{S}:missing", "--policy", "write-through"), "has no attribute 'missing'"),
        (("check", f"{S}:not_callable", "--policy", "write-through"), "is not callable"),
        (("check", "nocolon", "--policy", "write-through"), "is not of the form module:factory"),
        (("check", "/no/such/file.py:f", "--policy", "write-through"), "does not exist"),
        (("check", f"{S}:broken_factory", "--policy", "write-through"), "raised RuntimeError: cannot connect to my cache"),
        (("check", f"{S}:returns_none", "--policy", "write-through"), "returned NoneType, which has no write or read() method"),
        (("check", f"{S}:write_through", "--policy", "write-through", "--json", "/no/such/dir/r.json"), "does not exist"),
        (("check", f"{S}:write_through", "--policy", "write-through", "--examples", "0"), "at least 1"),
        (("check", f"{S}:write_through", "--policy", "write-through", "--timeout", "-1"), "positive number of seconds, got -1"),
        (("check", f"{S}:write_through", "--policy", "write-through", "--timeout", "nan"), "positive number of seconds, got nan"),
        (("check", f"{S}:write_through"), "--policy"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message):
    code, out, err = run(*argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_report_file_refused_at_open_keeps_the_verdict_and_is_one_line():
    # /dev/full passes the writable pre-check (a writable file) and fails only when
    # written, like a full disk: the verdict is printed all the same.
    code, out, err = run("check", f"{S}:write_through", "--policy", "write-through", "--examples", "5",
                         "--json", "/dev/full", "--html", "/dev/full", "--junit", "/dev/full")
    assert code == 2
    assert out.startswith("CONFORMS")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.count("cannot write '/dev/full'") == 3


def test_subject_raising_is_a_subject_error_at_its_step():
    code, out, _ = run("check", f"{S}:raises", "--policy", "write-through")
    assert code == 1
    assert "clause broken: subject-error" in out and "KeyError" in out
    # The step is named: the read that raised (the shrunk example may be just finish(),
    # which reads every key).
    assert "expected: read('k0') returns or raises a store error" in out


def test_read_returning_bytes_is_a_subject_error():
    code, out, _ = run("check", f"{S}:returns_bytes", "--policy", "cache-aside")
    assert code == 1 and "subject-error" in out and "bytes" in out


def test_hanging_subject_gives_liveness_violation_and_exits():
    code, out, _ = run("check", f"{S}:hangs", "--policy", "write-through", "--timeout", "0.3")
    assert code == 1
    assert "clause broken: liveness" in out and "did not return within 0.3 s" in out


def _cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE.parent.parent))
    return subprocess.run([sys.executable, "-m", "conformance", *argv], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=HERE.parent.parent)


@pytest.mark.slow
def test_process_exits_despite_non_daemon_threads_and_hangs():
    p = _cli("check", f"{S}:leaves_thread", "--policy", "write-through", "--examples", "10")
    assert p.returncode == 0, p.stderr
    p = _cli("check", f"{S}:hangs", "--policy", "write-through", "--timeout", "0.3")
    assert p.returncode == 1 and "liveness" in p.stdout


def _raise_line() -> int:
    lines = (HERE / "subjects.py").read_text(encoding="utf-8").splitlines()
    start = next(i for i, t in enumerate(lines, 1) if t.startswith("def broken_factory"))
    return next(i for i, t in enumerate(lines, 1) if i > start and "raise RuntimeError" in t)


def test_bad_input_from_the_real_process_has_no_traceback():
    p = _cli("check", f"{S}:broken_factory", "--policy", "write-through")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    line = p.stderr.strip()
    assert "\n" not in line
    assert line.startswith("cache-conformance check: error: cannot build the subject: factory "
                           "tests.conformance.subjects:broken_factory(env) raised RuntimeError: cannot connect to my cache")
    # ... and where in the factory it raised (issue 19: a subject's error with its place).
    assert line.endswith(f"(subject code: {HERE / 'subjects.py'}, line {_raise_line()}, in broken_factory)"), line


def test_policies_lists_every_policy_and_clause():
    code, out, _ = run("policies")
    assert code == 0
    for name in ("write-through", "write-behind", "write-around", "cache-aside", "read-through", "write-back"):
        assert name in out
    for clause in ("durable-on-ack", "bounded-staleness", "eventual-persistence", "bounded-loss", "convergence"):
        assert clause in out


def test_a_reader_that_closes_the_pipe_early_gets_no_traceback(tmp_path):
    # `cache-conformance check ... | head -1`: the exit code and the files, and no traceback.
    env = dict(os.environ, PYTHONPATH=str(HERE.parent.parent))
    report = tmp_path / "r.json"
    p = subprocess.Popen([sys.executable, "-m", "conformance", "check", f"{S}:cache_first", "--policy",
                          "write-through", "--json", str(report)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=HERE.parent.parent)
    p.stdout.close()  # gone before the first line: every write of the report fails
    code = p.wait(timeout=120)
    err = p.stderr.read()
    assert code == 1 and "Traceback" not in err, err
    assert '"verdict": "VIOLATES"' in report.read_text()


def test_check_help_states_the_defaults_it_applies(capsys):
    # The parser keeps --examples/--steps unset (None) so a report can tell "not given";
    # its help text must still name the defaults run_check applies.
    from conformance.check import DEFAULT_EXAMPLES, DEFAULT_STEPS

    with pytest.raises(SystemExit):
        main(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"Hypothesis examples (default {DEFAULT_EXAMPLES})" in text
    assert f"steps per example (default {DEFAULT_STEPS})" in text
    assert "default None" not in text
