"""A subject that misbehaves on the wire gets one clear line and the right verdict or exit
code, and no process of it outlives the check.

Before the check (no hello, a bad hello, a command that cannot start) it is a usage error:
nothing can be checked. During the check it is the subject's fault, judged like any
exception a Python subject raises (VIOLATES subject-error), except a hang (liveness) and
nondeterminism, which the harness cannot schedule (UNKNOWN)."""

from __future__ import annotations

import io
import os
import time

import pytest

from cache_conformance.cli import main
from conformance import run_check
from conformance.exec import ExecStartError
from conformance.exec.process import TOKEN_VARIABLE
from tests.exec.conftest import stub


def _alive(pids):
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.append(pid)
        except OSError:
            pass
    return alive


def _carrying(tokens):
    """Pids of live processes whose environment carries one of the factory's tokens."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if any(f"{TOKEN_VARIABLE}={t}".encode() in env for t in tokens) and _alive([int(p)]):
            found.append(int(p))
    return found


@pytest.mark.parametrize("mode, message", [
    ("garbage-hello", "failed the handshake: the subject sent a line that is not JSON: 'Listening on port 8080'"),
    ("exit-before-hello", "exited with status 3 before its hello; its last stderr line: 'cannot open config.yaml'"),
    ("bad-version", "failed the handshake: the subject speaks protocol version 99; this harness speaks 1"),
    ("silent", "did not send its hello within 1 s"),
])
def test_a_subject_that_fails_the_handshake_is_a_usage_error(mode, message, exec_factory):
    # Only the silent subject waits out its limit; the others answer (or exit) at once, so
    # they get a limit a loaded machine's interpreter start cannot reach.
    with pytest.raises(ExecStartError) as e:
        exec_factory(stub(mode), start_timeout=1 if mode == "silent" else 30)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_a_command_that_cannot_start_is_one_line_exit_2():
    err = io.StringIO()
    code = main(["check", "--exec", "no-such-subject --port 1", "--policy", "write-through"],
                stdout=io.StringIO(), stderr=err)
    assert code == 2
    assert err.getvalue() == ("cache-conformance check: error: cannot start 'no-such-subject --port 1': "
                              "No such file or directory\n")


@pytest.mark.parametrize("mode, observed", [
    ("garbage", "it raised ProtocolError: the subject sent a line that is not JSON: 'DEBUG: about to write' "
                "(stdout is the protocol's; write logs to stderr)"),
    ("exit", "it raised ProtocolError: the subject process exited with status 3 after operation"),
    ("wrong-id", "it raised ProtocolError: the subject answered operation"),
    ("unknown-target", "it raised ProtocolError: the subject asked for 'cache.scan', which is not a store request"),
    ("raise", "it raised KeyError: 'k0' (at stub_subject.py)"),
])
@pytest.mark.slow
def test_a_subject_that_breaks_the_protocol_mid_check_violates_subject_error(mode, observed, exec_factory):
    factory = exec_factory(stub(mode))
    report = run_check(factory, policy="write-through", examples=3, shrink_seconds=0.5, op_timeout=10)
    assert report.verdict.status == "VIOLATES", report.render()
    assert report.clause == "subject-error"
    assert observed in report.verdict.violation.observed
    assert "\n" not in report.verdict.violation.observed


def test_the_exit_is_reported_with_the_subjects_last_stderr_line(exec_factory):
    report = run_check(exec_factory(stub("exit")), policy="write-through", examples=3, shrink_seconds=0.5,
                       op_timeout=10)
    assert "its last stderr line: 'panic: out of memory'" in report.verdict.violation.observed


def test_a_subject_that_never_answers_is_a_liveness_violation_and_is_killed(exec_factory):
    factory = exec_factory(stub("never"))
    started = time.monotonic()
    report = run_check(factory, policy="write-through", examples=5, op_timeout=0.5)
    assert report.verdict.status == "VIOLATES" and report.clause == "liveness", report.render()
    assert "did not return within 0.5 s" in report.verdict.violation.observed
    assert time.monotonic() - started < 30
    pids = factory.pids()
    assert _alive(pids)  # the hung process is still there until the check is closed...
    factory.close()
    time.sleep(0.1)
    assert not _alive(pids)  # ...and gone after


def test_a_stderr_flood_is_drained_and_kept_bounded(exec_factory):
    factory = exec_factory(stub("flood-stderr"), stderr_limit=64 * 1024)
    report = run_check(factory, policy="write-through", examples=5, op_timeout=10)
    assert report.verdict.status == "CONFORMS", report.render()
    assert max(p.stderr.total for p in factory.processes) > 1_000_000  # 100 kB per operation, all read...
    assert len(factory.stderr().encode()) <= 64 * 1024  # ...the last 64 KiB kept


def test_no_process_of_the_subject_outlives_the_check(exec_factory):
    # The stub leaves a child in its process group and a daemon that left it (setsid after
    # a double fork); both go with the check.
    factory = exec_factory(stub("children"))
    report = run_check(factory, policy="write-through", examples=5, op_timeout=10)
    assert report.verdict.status == "CONFORMS", report.render()
    tokens = [p.token for p in factory.processes]
    assert len(_carrying(tokens)) >= 3  # a subject, its child, its daemon
    factory.close()
    time.sleep(0.2)
    assert _carrying(tokens) == []


def test_a_nondeterministic_subject_is_unknown_naming_where_it_diverged(exec_factory):
    report = run_check(exec_factory(stub("random")), policy="write-through", examples=20, op_timeout=10)
    assert report.verdict.status == "UNKNOWN", report.render()
    assert "the subject is nondeterministic: after the same" in report.verdict.reason
    assert "where it once sent" in report.verdict.reason


def test_the_cli_prints_the_subjects_stderr_after_a_violation():
    out = io.StringIO()
    code = main(["check", "--exec", stub("exit"), "--policy", "write-through", "--examples", "5", "--no-timeline"],
                stdout=out, stderr=io.StringIO())
    assert code == 1
    assert "the subject's stderr (last 1 lines):\n  panic: out of memory" in out.getvalue()


def test_waiting_for_a_process_to_start_is_not_an_operation_timing_out(exec_factory):
    # Each crash needs a fresh process, which takes 1 s to say hello: longer than the
    # operation timeout. The factory call that waits for it is the factory's build, whose
    # limit the exec factory sets from its start timeout (`build_timeout`), not a hang.
    factory = exec_factory(stub("slow-start"), spares=1)
    assert factory.build_timeout >= factory.start_timeout
    report = run_check(factory, policy="write-through", examples=3, op_timeout=0.5)
    assert report.verdict.status == "CONFORMS", report.render()
    assert factory.starts > 2 and factory.waited > 0.5, factory.stats()
