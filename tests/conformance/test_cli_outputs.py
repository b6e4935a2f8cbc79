"""What `check` and `check-history` write and choose: output paths refused before anything
runs (`--json`, `--junit`), JUnit XML that says what the verdict says, and `--faults`."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from cache_conformance.cli import main
from conformance import run_check
from conformance.errors import Inconclusive
from conformance.run import Run
from model import policy

HISTORIES = Path(__file__).parents[1] / "histories" / "data"
S = "tests.conformance.subjects"
THIS = "tests.conformance.test_cli_outputs"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _never(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("ran although an output path cannot be written")


class _GivesUp:
    """A subject whose write raises the harness's UNKNOWN signal, as an --exec subject does
    when its process answers one conversation two ways: a cheap, certain UNKNOWN."""

    def __init__(self, env: Any) -> None:
        self.env = env

    def write(self, key: str, value: str) -> None:
        raise Inconclusive("the subject diverged from its earlier run")

    def read(self, key: str) -> Any:
        return self.env.db.get(key)


def gives_up(env: Any) -> _GivesUp:
    return _GivesUp(env)


# ---- output paths refused before the work --------------------------------------------------

UNWRITABLE = {
    "missing directory": lambda tmp: str(tmp / "no" / "such" / "dir" / "out"),
    "a directory": lambda tmp: str(tmp),
}


@pytest.mark.parametrize("flag", ["--json", "--junit"])
@pytest.mark.parametrize("where", list(UNWRITABLE))
def test_check_refuses_an_unwritable_output_before_the_check(flag: str, where: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance

    monkeypatch.setattr(conformance, "run_check", _never)
    path = UNWRITABLE[where](tmp_path)
    code, out, err = run("check", f"{S}:write_through", "--policy", "write-through", flag, path)
    assert code == 2 and out == ""
    assert err.startswith(f"cache-conformance check: error: argument {flag}: cannot write {path!r}")
    assert err.count("\n") == 1


@pytest.mark.parametrize("flag", ["--json", "--junit"])
def test_check_history_refuses_an_unwritable_output_before_reading(flag: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import conformance.histories.check

    monkeypatch.setattr(conformance.histories.check, "check_file", _never)
    code, out, err = run("check-history", str(HISTORIES / "valid.jsonl"), "--policy", "write-through",
                         flag, str(tmp_path / "missing" / "out"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"cache-conformance check-history: error: argument {flag}: cannot write")


def test_prove_and_bench_refuse_an_unwritable_json_before_the_work(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import cache_conformance.bench
    import proofs.runner

    monkeypatch.setattr(proofs.runner, "run_rows", _never)
    monkeypatch.setattr(cache_conformance.bench, "benchmark", _never)
    for argv in (("prove", "--protocol", "ca-lease"), ("bench",)):
        code, _, err = run(*argv, "--json", str(tmp_path / "missing" / "r.json"))
        assert code == 2 and err.count("\n") == 1, (argv, err)
        assert err.startswith(f"cache-conformance {argv[0]}: error: argument --json: cannot write"), err


# ---- JUnit XML -----------------------------------------------------------------------------

def _junit(path: Path) -> ET.Element:
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "1"
    (case,) = suite.findall("testcase")
    return case


def _check_junit(tmp_path: Path, *argv: str) -> tuple[int, str, ET.Element, ET.Element]:
    path = tmp_path / "junit.xml"
    code, out, err = run(*argv, "--junit", str(path))
    assert code in (0, 1), err
    return code, out, ET.parse(path).getroot(), _junit(path)


def test_check_junit_conforms_is_a_passing_testcase(tmp_path: Path) -> None:
    code, out, suite, case = _check_junit(tmp_path, "check", "implementations.memory:write_through",
                                          "--policy", "write-through", "--examples", "20")
    assert code == 0 and out.startswith("CONFORMS")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "0", "0")
    assert case.get("name") == "implementations.memory:write_through as write-through"
    assert [child.tag for child in case] == ["system-out"]
    assert case.findtext("system-out").startswith("CONFORMS")


def test_check_junit_violates_is_a_failure_with_the_clause_and_the_evidence(tmp_path: Path) -> None:
    code, out, suite, case = _check_junit(tmp_path, "check", f"{S}:cache_first", "--policy", "write-through",
                                          "--no-timeline")
    assert code == 1 and out.startswith("VIOLATES")
    assert (suite.get("failures"), suite.get("errors")) == ("1", "0")
    failure = case.find("failure")
    assert failure is not None and case.find("error") is None
    assert failure.get("type") == "no-phantom"
    assert failure.get("message").startswith("clause broken: no-phantom — ")
    for line in out.splitlines():
        if line.startswith(("expected: ", "observed: ", "key: ")):
            assert line in failure.text
    assert "run.fault('db-down')" in failure.text


def test_check_junit_unknown_is_an_error_never_a_pass(tmp_path: Path) -> None:
    code, out, suite, case = _check_junit(tmp_path, "check", f"{THIS}:gives_up", "--policy", "write-through",
                                          "--examples", "5", "--no-timeline")
    assert code == 1 and out.startswith("UNKNOWN")
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "1", "0")
    error = case.find("error")
    assert error is not None and case.find("failure") is None and case.find("skipped") is None
    assert error.get("type") == "UNKNOWN"
    assert error.get("message") == "the subject diverged from its earlier run"


@pytest.mark.parametrize("name, verdict, tag, kind", [
    ("valid.jsonl", "CONFORMS", None, None),
    ("stale.jsonl", "VIOLATES", "failure", "linearizable-reads"),
    ("cas.edn", "UNKNOWN", "error", "UNKNOWN"),
])
def test_check_history_junit_says_what_the_verdict_says(name: str, verdict: str, tag: str | None,
                                                        kind: str | None, tmp_path: Path) -> None:
    code, out, suite, case = _check_junit(tmp_path, "check-history", str(HISTORIES / name),
                                          "--policy", "write-through", "--no-timeline")
    assert out.startswith(verdict) and code == (0 if verdict == "CONFORMS" else 1)
    assert case.findtext("system-out") == out.rstrip("\n").split("\n\ntimeline")[0]
    if tag is None:
        assert [child.tag for child in case] == ["system-out"]
    else:
        assert case.find(tag).get("type") == kind
    assert suite.get("failures") == ("1" if verdict == "VIOLATES" else "0")
    assert suite.get("errors") == ("1" if verdict == "UNKNOWN" else "0")


def test_junit_escapes_what_xml_cannot_carry(tmp_path: Path) -> None:
    from cache_conformance.junit import write_junit
    from conformance import CheckReport
    from model import VIOLATES, Verdict, Violation

    report = CheckReport(target="t", policy="write-through", examples=1, steps=1, seconds=0.0,
                         verdict=Verdict(VIOLATES, violation=Violation("no-phantom", "k\x00", "one of 'a'", "'\x1b[0m'")))
    write_junit([report], tmp_path / "j.xml", suite="s")
    failure = _junit(tmp_path / "j.xml").find("failure")
    assert "observed: '\\x1b[0m'" in failure.text and "key: 'k\\x00'" in failure.text


# ---- --faults ------------------------------------------------------------------------------

@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every fault, clock advance and crash the search asks a Run for, in every example."""
    seen: list[str] = []
    fault, advance, crash = Run.fault, Run.advance, Run.crash

    def on_fault(self: Run, kind: str, *args: Any, **kwargs: Any) -> None:
        seen.append(kind)
        fault(self, kind, *args, **kwargs)

    def on_advance(self: Run, seconds: float) -> None:
        seen.append("clock")
        advance(self, seconds)

    def on_crash(self: Run) -> None:
        seen.append("crash")
        crash(self)

    monkeypatch.setattr(Run, "fault", on_fault)
    monkeypatch.setattr(Run, "advance", on_advance)
    monkeypatch.setattr(Run, "crash", on_crash)
    return seen


def test_a_check_draws_only_the_faults_it_is_given(drawn: list[str]) -> None:
    r = run_check("implementations.memory:write_behind", "write-behind", examples=150)
    assert r.verdict.status == "CONFORMS"
    assert {"db-down", "evict", "clock", "crash"} <= set(drawn)  # the recorder sees them all
    drawn.clear()
    r = run_check("implementations.memory:write_behind", "write-behind", examples=150, faults=())
    assert r.verdict.status == "CONFORMS" and drawn == []
    # (the run's end still lets the TTLs run out: one clock tick, not a drawn one)
    assert not any(type(e).__name__ in ("Fault", "Crash") for e in r.history)
    r = run_check("implementations.memory:write_behind", "write-behind", examples=150, faults=("db-down",))
    assert r.verdict.status == "CONFORMS"
    # a lasting fault brings its healing one with it
    assert set(drawn) == {"db-down", "db-up"}


def test_a_bug_that_needs_a_fault_is_found_only_with_it() -> None:
    # Pending writes kept only in memory while declaring durable = True: only a crash loses them.
    mutant = "implementations.mutants.buffered:write_behind_durable_without_queue"
    without = tuple(f for f in policy("write-behind").faults if f != "crash")
    assert run_check(mutant, "write-behind", examples=200, faults=without).verdict.status == "CONFORMS"
    found = run_check(mutant, "write-behind", examples=200, faults=("crash",))
    assert found.verdict.status == "VIOLATES" and found.clause == "bounded-loss"
    assert "run.crash()" in found.counterexample and "run.fault(" not in found.counterexample


def test_faults_from_the_command_line(drawn: list[str]) -> None:
    code, out, _ = run("check", "implementations.mutants.buffered:write_behind_durable_without_queue",
                       "--policy", "write-behind", "--faults", "crash", "--no-timeline")
    assert code == 1 and "clause broken: bounded-loss" in out
    assert set(drawn) == {"crash"}
    drawn.clear()
    code, out, _ = run("check", "implementations.memory:write_through", "--policy", "write-through",
                       "--faults", "none", "--examples", "50")
    assert code == 0 and drawn == []


@pytest.mark.parametrize("faults, fragment", [
    ("bogus", "write-through has no fault 'bogus'"),
    ("db-down,db-up", "has no fault 'db-up' (db-up comes with db-down)"),
])
def test_a_fault_the_policy_does_not_have_is_one_line_listing_its_faults(faults: str, fragment: str) -> None:
    code, out, err = run("check", "implementations.memory:write_through", "--policy", "write-through",
                         "--faults", faults)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("cache-conformance check: error: ") and fragment in err
    assert err.rstrip().endswith("its faults: " + ", ".join(policy("write-through").faults))


def test_faults_apply_to_the_search_only() -> None:
    code, _, err = run("check", "implementations.memory:write_through", "--policy", "write-through",
                       "--faults", "evict", "--exhaustive", "c0:write:k0")
    assert code == 2 and "--faults chooses the faults of the search" in err
