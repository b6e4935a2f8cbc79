"""The loop through the command line: `prove --scenarios DIR` writes the file, and
`check TARGET --policy P --scenario FILE` replays it (exit 1 VIOLATES, 0 CONFORMS,
2 when the schedule does not match the subject)."""

from __future__ import annotations

import io
import json

import pytest

from cache_conformance.cli import main
from tests.loop.scenarios import exported

ROW = ["--protocol", "ca-invalidate", "--property", "consistent-at-quiescence"]
NAME = "ca-invalidate--consistent-at-quiescence.json"


def _run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    directory = tmp_path_factory.mktemp("scenarios")
    code, text = _run(["prove", *ROW, "--scenarios", str(directory)])
    assert code == 0, text
    path = directory / NAME
    assert path.is_file(), text
    return path


def test_prove_writes_the_scenario_the_loop_tests_replay(scenario_file):
    # The CLI engine of a row is explicit first, so the file is the explicit trace's export.
    assert json.loads(scenario_file.read_text()) == exported()["ca-invalidate"].data


@pytest.mark.parametrize("target, code, verdict", [
    ("implementations.seeds.quick_recap:cache_aside", 1, "VIOLATES"),
    ("implementations.memory:cache_aside", 0, "CONFORMS"),
])
def test_check_replays_the_file(scenario_file, target, code, verdict):
    got, text = _run(["check", target, "--policy", "cache-aside", "--scenario", str(scenario_file)])
    assert got == code, text
    assert text.startswith(f"{verdict}: {target} as cache-aside"), text
    if verdict == "VIOLATES":
        assert "clause broken: linearizable-reads" in text


def test_check_refuses_a_subject_whose_store_calls_differ(scenario_file):
    # No invalidation: the writer makes one store call, the schedule gives it two.
    got, text = _run(["check", "implementations.mutants.synchronous:cache_aside_no_invalidation",
                      "--policy", "cache-aside", "--scenario", str(scenario_file)])
    assert got == 2, text
    assert "the schedule does not match the subject" in text
    assert len(text.strip().splitlines()) == 1, text
