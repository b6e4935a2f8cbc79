"""Every mode of `check` (the search, --exhaustive, --replay, --scenario) resolves the target
and the policy the same way and ends through the same outcome chain: the same one-line
usage errors, the same report type."""

from __future__ import annotations

import io
import json

import attrs
import pytest

from cache_conformance.cli import main
from conformance import CheckReport, ContractViolation, Inconclusive, LivenessFailure, UsageError
from conformance.calls import Hung
from conformance.outcome import NOT_SHRUNK, judge
from conformance.target import Target, resolve_target
from model import CONFORMS, UNKNOWN, VIOLATES, Verdict, Violation
from model.scenario_format import FORMAT

TARGET = "implementations.memory:write_through"
SCRIPT = """from conformance import Run

run = Run('implementations.memory:write_through', policy='write-through')
run.write('k0', 'v1')
run.read('k0')
"""
SCENARIO = {
    "format": FORMAT, "policy": "write-through", "initial": {"db": {}, "cache": {}},
    "clients": {"c0": [{"op": "read", "key": "k"}], "c1": [{"op": "write", "key": "k", "value": "v1"}]},
    "schedule": ["c0", "c1"], "faults": [], "expect": {"clause": "linearizable-reads"},
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("modes")
    (d / "script.py").write_text(SCRIPT)
    (d / "scenario.json").write_text(json.dumps(SCENARIO))
    return d


MODES = {
    "check": lambda d: ["--examples", "5"],
    "exhaustive": lambda d: ["--exhaustive", "c0:read:k0 c1:write:k0"],
    "replay": lambda d: ["--replay", str(d / "script.py")],
    "scenario": lambda d: ["--scenario", str(d / "scenario.json")],
}


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("mode", list(MODES))
def test_an_unknown_policy_is_one_line_and_exit_2_in_every_mode(mode, files):
    code, out, err = _cli("check", TARGET, "--policy", "nope", *MODES[mode](files))
    assert code == 2, out + err
    assert err.count("\n") == 1 and "unknown policy 'nope'" in err and "known policies: write-through" in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("mode", list(MODES))
def test_a_target_that_cannot_be_imported_is_the_same_line_in_every_mode(mode, files):
    code, out, err = _cli("check", "no_such_module:factory", "--policy", "write-through", *MODES[mode](files))
    assert code == 2, out + err
    assert err == "cache-conformance check: error: cannot import module 'no_such_module': ModuleNotFoundError: " \
                  "No module named 'no_such_module'\n"


@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_reports_the_canonical_policy_name(mode, files):
    code, out, err = _cli("check", TARGET, "--policy", "write_through", *MODES[mode](files))
    assert code == 0, out + err
    assert out.startswith(f"CONFORMS: {TARGET} as write-through ")


def test_a_target_is_resolved_once_and_passed_on():
    target = resolve_target(TARGET, "write-back")
    assert isinstance(target, Target) and target.policy.name == "write-behind" and target.label == TARGET
    assert resolve_target(target) is target
    assert resolve_target(target, "write-through").policy.name == "write-through"
    with pytest.raises(UsageError, match="a policy is needed"):
        resolve_target(TARGET)


def test_check_report_is_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        CheckReport("t", "write-through", Verdict(CONFORMS), 1, 1, 0.0)  # type: ignore[misc]
    report = CheckReport(target="t", policy="write-through", verdict=Verdict(CONFORMS), examples=1, steps=1,
                         seconds=0.0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.note = "changed"  # type: ignore[misc]


def _raiser(error: BaseException):
    def attempt() -> None:
        raise error
    return attempt


def test_the_outcome_chain():
    v = Violation("no-phantom", "k0", "a written value", "'x'")
    assert judge(lambda: None, relaxations=lambda: ("r",)).verdict == Verdict(CONFORMS, relaxations=("r",))
    j = judge(_raiser(ContractViolation(v, "script")))
    assert (j.verdict.status, j.verdict.violation, j.script, j.note) == (VIOLATES, v, "script", None)
    live = Violation("liveness", None, "returns", "hung")
    j = judge(_raiser(LivenessFailure(live, "s")))
    assert (j.verdict.status, j.script, j.note) == (VIOLATES, "s", NOT_SHRUNK)
    j = judge(_raiser(Hung("write('k0', 'v1') did not return within 2 s")))
    assert j.verdict.status == VIOLATES and j.verdict.violation.clause == "liveness"
    j = judge(_raiser(Inconclusive("too many explanations")))
    assert j.verdict == Verdict(UNKNOWN, reason="too many explanations")
    with pytest.raises(UsageError):
        judge(_raiser(UsageError("not a verdict")))
