"""The proofs CLI: the table, JSON, exit codes, bad input, and state-graph drawings."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from cache_conformance.commands.prove import main
from proofs import graph


def run(argv):
    out = io.StringIO()
    code = main(argv, stream=out)
    return code, out.getvalue()


def test_prove_one_row_prints_the_table_and_exits_0(tmp_path):
    path = tmp_path / "rows.json"
    code, out = run(["prove", "--protocol", "ca-invalidate", "--property", "consistent-at-quiescence",
                     "--json", str(path),
                     "--scenarios", str(tmp_path / "sc")])
    assert code == 0, out
    assert "ca-invalidate" in out and "REFUTED" in out and "c0: read; c1: write v1" in out
    rows = json.loads(path.read_text())
    assert {r["engine"] for r in rows} == {"explicit", "z3"}
    for r in rows:
        assert r["verdict"] == "REFUTED" and r["seconds"] >= 0
        assert len(r["trace"]["steps"]) == 5
    assert (tmp_path / "sc" / "ca-invalidate--consistent-at-quiescence.json").exists()


def test_engines_disagreeing_within_the_depth_exits_1():
    # The requeue counterexample has 17 steps: Z3 bounded to 5 cannot see it.
    code, out = run(["prove", "--protocol", "wb-requeue", "--depth", "5"])
    assert code == 1
    assert "more than --depth 5" in out


def test_unknown_from_the_solver_is_never_a_pass(monkeypatch):
    import z3

    from proofs import symbolic

    class Stuck:
        def __init__(self):
            self.inner = z3.SolverFor("QF_BV")

        def add(self, *a):
            self.inner.add(*a)

        def set(self, *a):
            pass

        def check(self, *a):
            return z3.unknown

        def reason_unknown(self):
            return "canceled"

    monkeypatch.setattr(symbolic, "_solver", lambda timeout_ms: Stuck())
    code, out = run(["prove", "--protocol", "ca-lease"])
    assert code == 1
    assert "UNKNOWN" in out and "canceled" in out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["prove", "--protocol", "nope"], "unknown protocol 'nope'"),
        (["prove", "--property", "nope"], "unknown property 'nope'"),
        (["prove", "--depth", "0"], "between 1 and"),
        (["prove", "--depth", "1000000"], "between 1 and"),
        (["prove", "--depth", "many"], "must be an integer"),
        (["explore", "--protocol", "nope", "--dot", "x.dot"], "unknown protocol"),
        (["explore", "--protocol", "ca-lease"], "one of the arguments"),
        (["prove", "--protocol", "wt-db-first-set", "--property", "no-lost-ack"], "does not apply"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragment):
    code, out = run(argv)
    assert code == 2
    prefix = f"cache-conformance {argv[0]}: error: " if argv[0] != "frobnicate" else "cache-conformance: error: "
    assert out.startswith(prefix) and fragment in out
    assert out.count("\n") == 1 and "Traceback" not in out


@pytest.mark.parametrize("content", ["{", "[]", '{"format": "cache-conformance/scenario@0"}'])
def test_bad_scenario_file_exit_2(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out = run(["scenario", str(path)])
    assert code == 2 and out.count("\n") == 1


def test_scenario_command_accepts_an_exported_scenario(tmp_path):
    run(["prove", "--protocol", "wa-no-invalidate", "--engine", "explicit",
         "--scenarios", str(tmp_path)])
    code, out = run(["scenario", str(tmp_path / "wa-no-invalidate--read-your-writes.json")])
    assert code == 0 and "valid write-around scenario, 2 steps" in out


def test_dot_marks_bad_states_and_the_counterexample_path(tmp_path):
    path = tmp_path / "g.dot"
    code, out = run(["explore", "--protocol", "ca-invalidate", "--dot", str(path)])
    assert code == 0, out
    dot = path.read_text()
    assert dot.startswith("digraph")
    assert dot.count('class="bad"') == 1  # the one stale-fill end state
    assert dot.count('class="counterexample"') == 5  # its shortest path: 5 steps
    assert dot.count(" -> ") == 21 and "18 states, 21 edges" in out


def test_png_without_graphviz_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    code, out = run(["explore", "--protocol", "ca-invalidate", "--png", str(tmp_path / "g.png")])
    assert code == 2 and "Graphviz" in out and out.count("\n") == 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_png_and_svg_with_graphviz(tmp_path, fmt, magic):
    path = tmp_path / f"g.{fmt}"
    code, out = run(["explore", "--protocol", "wb-requeue", f"--{fmt}", str(path)])
    assert code == 0, out
    assert path.read_bytes().startswith(magic)
