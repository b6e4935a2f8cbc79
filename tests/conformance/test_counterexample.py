"""A counterexample is printed as runnable Python; running it reproduces the violation,
and the same steps on a correct subject pass."""

from __future__ import annotations

import functools

import pytest

from conformance import ContractViolation, run_check

S = "tests.conformance.subjects"

# One worker runs the module, so the two tests of the default check's counterexample share
# one check (the same call twice gives the same report: test_seed_makes_the_check_reproducible).
pytestmark = pytest.mark.xdist_group("counterexample")


@functools.cache
def _default_check():
    return run_check(f"{S}:cache_first", "write-through")


def test_printed_counterexample_runs_and_reproduces():
    report = _default_check()
    assert report.verdict.status == "VIOLATES"
    script = report.counterexample
    assert script.startswith("from conformance import Run")
    with pytest.raises(ContractViolation) as info:
        exec(compile(script, "<counterexample>", "exec"), {})
    assert info.value.violation.clause == report.clause


def test_same_steps_on_the_correct_subject_pass():
    report = _default_check()
    assert report.verdict.status == "VIOLATES"
    script = report.counterexample.replace(f"{S}:cache_first", f"{S}:write_through") + "\nrun.finish()\nrun.close()\n"
    exec(compile(script, "<counterexample>", "exec"), {})


def test_seed_makes_the_check_reproducible():
    a = run_check(f"{S}:cache_first", "write-through", seed=7)
    b = run_check(f"{S}:cache_first", "write-through", seed=7)
    assert a.counterexample == b.counterexample and a.examples == b.examples
