"""The reference clients (clients/node, clients/java, clients/go) checked through the
subject protocol: each language's correct write-through and write-behind conform, their
buggy twins violate the clause their bug breaks, and the printed counterexample replays.

Budgets are small (these are checks of the protocol and the clients, not of the
algorithms, which tests/implementations checks at full budget in Python)."""

from __future__ import annotations

import io

import pytest

from cache_conformance.cli import main
from conformance import ContractViolation, run_check
from conformance.exec import close_all

LANGUAGES = ("node", "java", "go")

pytestmark = pytest.mark.slow  # processes started, Hypothesis budgets


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("example, policy", [("write_through", "write-through"), ("write_behind", "write-behind")])
def test_correct_subject_conforms(language, example, policy, subjects, exec_factory):
    factory = exec_factory(subjects.command(language, example))
    # Verdicts, not timing: a loaded machine must not turn a slow answer into a liveness failure.
    report = run_check(factory, policy=policy, examples=10, steps=20, op_timeout=60)
    assert report.verdict.status == "CONFORMS", report.render()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("example, policy, clause", [
    ("buggy_write_through", "write-through", "no-phantom"),             # cache first, then the DB
    ("buggy_write_behind", "write-behind", "eventual-persistence"),     # drains the buffer, then commits
])
def test_buggy_twin_violates_and_its_counterexample_replays(language, example, policy, clause, subjects,
                                                            exec_factory, tmp_path):
    command = subjects.command(language, example)
    report = run_check(exec_factory(command), policy=policy, examples=40, shrink_seconds=1.0, op_timeout=60)
    assert report.verdict.status == "VIOLATES", report.render()
    assert report.clause == clause, report.render()
    # The counterexample names the subject in a form a replay runs: the exec target.
    assert f"Run('exec:{command}', policy='{policy}'" in report.counterexample
    script = tmp_path / "counterexample.py"
    script.write_text(report.counterexample)
    out = io.StringIO()
    code = main(["check", "--exec", command, "--policy", policy, "--replay", str(script), "--no-timeline"],
                stdout=out, stderr=io.StringIO())
    assert code == 1, out.getvalue()
    assert f"clause broken: {clause}" in out.getvalue()
    # And as Python: the script starts the command itself.
    try:
        with pytest.raises(ContractViolation) as info:
            exec(compile(report.counterexample, "<counterexample>", "exec"), {})
        assert info.value.violation.clause == clause
    finally:
        close_all()


def test_a_subject_that_declares_crash_by_reset_is_crashed_by_a_reset_in_its_process(subjects, exec_factory):
    # The Node write-through keeps nothing outside what its factory builds, and says so.
    factory = exec_factory(subjects.command("node", "write_through"))
    assert factory.caps.crash_by_reset
    report = run_check(factory, policy="write-through", examples=20, steps=20, op_timeout=60)
    assert report.verdict.status == "CONFORMS", report.render()
    stats = factory.stats()
    assert stats["crash_resets"] > 0, stats  # the fault model crashed it, in place
    assert stats["starts"] <= 2, stats  # the first process, and one spare for a crash mid-operation


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_subject_that_does_not_declare_it_is_killed_and_restarted_on_a_crash(language, subjects, exec_factory):
    factory = exec_factory(subjects.command(language, "write_behind"))
    assert not factory.caps.crash_by_reset
    report = run_check(factory, policy="write-behind", examples=20, steps=20, op_timeout=60)
    assert report.verdict.status == "CONFORMS", report.render()
    stats = factory.stats()
    # Five without a crash (the first process and four spares): more means crashes restarted it.
    assert stats["crash_resets"] == 0 and stats["starts"] > 5, stats
