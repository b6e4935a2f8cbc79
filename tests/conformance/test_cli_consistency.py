"""What every subcommand shares: one error prefix for bad input (whether argparse refused the
command line or the command's own checks did), one line, exit 2, no traceback."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from cache_conformance.cli import COMMANDS, main

ROOT = Path(__file__).parents[2]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _bad_inputs(tmp: Path) -> dict[str, list[tuple[str, ...]]]:
    """Per subcommand, bad command lines refused before anything runs: one argparse refuses
    and, where the command has its own checks, one its `run` refuses."""
    return {
        "check": [("check",), ("check", "implementations.memory:write_through", "--policy", "nope")],
        "check-history": [("check-history", "--policy", "write-through"),
                          ("check-history", str(tmp / "missing.jsonl"), "--policy", "write-through")],
        "policies": [("policies", "extra")],
        "prove": [("prove", "--depth", "many"), ("prove", "--protocol", "nope")],
        "explore": [("explore", "--protocol", "ca-lease"),
                    ("explore", "--protocol", "nope", "--dot", str(tmp / "g.dot"))],
        "scenario": [("scenario",), ("scenario", str(tmp / "missing.json"))],
        "report": [("report", "--bogus"), ("report", "--out", str(tmp / "r"), "--examples", "0")],
        "bench": [("bench", "--writes", "many"), ("bench", "--writes", "1")],
    }


def test_every_subcommand_has_a_bad_input_here(tmp_path: Path) -> None:
    assert set(_bad_inputs(tmp_path)) == {c.name for c in COMMANDS}


@pytest.mark.parametrize("name", [c.name for c in COMMANDS])
def test_bad_input_reads_the_same_in_every_subcommand(name: str, tmp_path: Path) -> None:
    for argv in _bad_inputs(tmp_path)[name]:
        code, out, err = run(*argv)
        assert code == 2, (argv, out, err)
        assert err.startswith(f"cache-conformance {name}: error: "), (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
        assert "usage:" not in err


def test_before_a_subcommand_is_known_the_prefix_is_the_program_s() -> None:
    code, _, err = run("frobnicate")
    assert code == 2
    assert err.startswith("cache-conformance: error: ") and "invalid choice" in err and err.count("\n") == 1


def test_the_real_process_prints_the_same_one_line() -> None:
    p = subprocess.run([sys.executable, "-m", "cache_conformance", "check-history", "/no/such/file",
                        "--policy", "write-through"], capture_output=True, text=True, timeout=60, cwd=ROOT,
                       check=False)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == "cache-conformance check-history: error: cannot read '/no/such/file': No such file or directory\n"


# ---- clauses: listed, and named in words the id does not already say -------------------------

def test_policies_lists_every_clause_a_verdict_can_name() -> None:
    from model.clauses import CLAUSES

    code, out, _ = run("policies")
    assert code == 0
    listed = out.split("\nclauses (what a verdict names):\n", 1)[1]
    for c in CLAUSES.values():
        assert f"  {c.id}: {c.title}\n      {c.text}\n" in listed
    assert "convergence" in out.split("\n\n", 1)[0]  # and in each policy's own list


def test_every_clause_title_says_more_than_its_id() -> None:
    from model.clauses import CLAUSES

    for c in CLAUSES.values():
        words = set(c.title.lower().split())
        assert len(words) >= 4 and not set(c.id.split("-")) >= words, c
        assert c.title.replace(" ", "-") != c.id and "\n" not in c.title, c


def test_check_names_the_broken_clause_by_its_statement() -> None:
    from model.clauses import clause

    code, out, _ = run("check", "tests.conformance.subjects:cache_first", "--policy", "write-through",
                       "--no-timeline")
    assert code == 1
    assert f"clause broken: no-phantom — {clause('no-phantom').title}\n" in out
