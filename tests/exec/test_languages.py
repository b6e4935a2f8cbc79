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
