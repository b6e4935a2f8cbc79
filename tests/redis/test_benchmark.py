"""The benchmark runs end to end on the real servers and reports what it promises."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
from pathlib import Path

import pytest

from cache_conformance import bench as benchmark
from cache_conformance.commands.bench import main

# serial: it times writes and pins processes to CPUs; another test at the same time skews both.
pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.serial]


def test_benchmark_reports_floors_policies_ratios_and_the_seed(redis_url, pg_url, tmp_path):
    out = io.StringIO()
    path = tmp_path / "bench.json"
    code = main(["--writes", "60", "--redis-url", redis_url, "--postgres-url", pg_url,
                 "--json", str(path)], stream=out)
    text = out.getvalue()
    assert code == 0, text
    for needle in ("Redis + PostgreSQL", "Redis + SQLite", "bare redis-py SET", "bare upsert commit",
                   "write-through", "write-behind", "write-around", "rows/s",
                   "8.25 ms vs write-behind 1.60 ms per write = 5.16x"):
        assert needle in text
    figures = json.loads(path.read_text())
    assert [f["database"] for f in figures] == ["PostgreSQL", "SQLite"]
    for f in figures:
        assert f["placement"] == "os"
        assert f["set_floor"]["p50_ms"] > 0 and f["raw_batch_rows_per_s"] > 0
        assert f["same_statement_rows_per_s"] > 0
        # every target is judged, and the like-for-like flush ratio is reported beside them
        assert set(f["ratios"]) == set(benchmark.TARGETS) | {
            "flush rows/s / raw rows/s, same statement",
            "write-through p50 / (upsert then SET, one sequence)"}
        assert f["sequence_floor"]["p50_ms"] > f["set_floor"]["p50_ms"]
        assert set(f["met"]) == set(benchmark.TARGETS)
        assert f["policies"]["write-behind"]["p99_ms"] >= f["policies"]["write-behind"]["p50_ms"]
        # the rates are medians of interleaved rounds, every round kept
        rounds = f["rate_samples"]
        assert {name: len(values) for name, values in rounds.items()} == {
            name: benchmark.FLUSH_ROUNDS for name in ("flush", "raw", "stmt")}
        assert f["flush_rows_per_s"] == sorted(rounds["flush"])[benchmark.FLUSH_ROUNDS // 2]


@pytest.mark.parametrize("argv,needle", [
    (["--writes", "3"], "at least 10"),
    (["--redis-url", "redis://127.0.0.1:1/0", "--database", "sqlite"], "unreachable"),
    # a server we did not start cannot be pinned: said before anything is measured
    (["--placement", "shared", "--redis-url", "redis://127.0.0.1:1/0"], "drop --redis-url"),
    (["--placement", "both", "--redis-url", "redis://127.0.0.1:1/0"], "drop --redis-url"),
])
def test_benchmark_bad_input_is_one_line_exit_2(argv, needle, capsys):
    assert main(argv, stream=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("placement", ["shared", "split"])
def test_benchmark_pins_the_client_and_its_redis_server_as_asked(placement, monkeypatch, tmp_path):
    allowed = os.sched_getaffinity(0)
    if placement == "split" and len(allowed) < 2:
        pytest.skip("split placement needs two CPUs; this process may use one")
    monkeypatch.delenv("REDIS_URL", raising=False)  # the benchmark starts (and pins) its own
    seen: dict[str, set[int]] = {}
    pin, measure = benchmark.pin_cpus, benchmark.measure

    def spy_pin(where, server_pid):
        undo = pin(where, server_pid)
        seen["server_pid"] = {server_pid}
        return undo

    def spy_measure(*args, **kwargs):
        # where both processes may run while the benchmark measures
        seen["client"] = os.sched_getaffinity(0)
        seen["server"] = os.sched_getaffinity(next(iter(seen["server_pid"])))
        return measure(*args, **kwargs)

    monkeypatch.setattr(benchmark, "pin_cpus", spy_pin)
    monkeypatch.setattr(benchmark, "measure", spy_measure)
    out, path = io.StringIO(), tmp_path / "bench.json"
    code = main(["--writes", "20", "--database", "sqlite", "--placement", placement,
                 "--json", str(path)], stream=out)
    assert code == 0, out.getvalue()
    assert len(seen["client"]) == 1 and len(seen["server"]) == 1
    assert (seen["client"] == seen["server"]) is (placement == "shared")
    assert os.sched_getaffinity(0) == allowed  # the client's pinning is undone
    assert benchmark.PLACEMENTS[placement] in out.getvalue()
    assert [f["placement"] for f in json.loads(path.read_text())] == [placement]


def test_benchmark_measures_both_placements_by_default_with_its_own_server(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    out, path = io.StringIO(), tmp_path / "bench.json"
    assert main(["--writes", "20", "--database", "sqlite", "--json", str(path)],
                stream=out) == 0, out.getvalue()
    expected = ["shared", "split"] if len(os.sched_getaffinity(0)) >= 2 else ["shared"]
    assert [f["placement"] for f in json.loads(path.read_text())] == expected


def test_benchmark_json_path_unwritable_is_one_line_before_the_benchmark(redis_url, tmp_path, capsys):
    out = io.StringIO()
    code = main(["--writes", "10", "--database", "sqlite", "--redis-url", redis_url,
                 "--json", str(tmp_path / "missing" / "bench.json")], stream=out)
    err = capsys.readouterr().err
    assert code == 2 and "argument --json: cannot write" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert out.getvalue() == ""  # refused before the benchmark ran: nothing measured for nothing


def test_pin_cpus_refuses_what_it_cannot_do():
    assert benchmark.pin_cpus("os", None)() is None  # the scheduler's choice: nothing pinned
    with pytest.raises(benchmark.PlacementUnavailable, match="unknown placement"):
        benchmark.pin_cpus("numa", 1)
    with pytest.raises(benchmark.PlacementUnavailable, match="drop --redis-url"):
        benchmark.pin_cpus("shared", None)


def test_redis_costs_measures_what_the_docs_cite(pg_url, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", pg_url)
    spec = importlib.util.spec_from_file_location(
        "redis_costs", Path(__file__).parents[2] / "benchmarks" / "redis_costs.py")
    costs = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(costs)  # type: ignore[union-attr]
    assert costs.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for needle in ("WB_WRITE", "return 1", "SET right after an upsert", "upsert then SET",
                   "write-behind flush of 200 rows", "xreadgroup", "its three writes alone",
                   "pinned to one CPU"):
        assert needle in out, out
    # every figure printed is a positive measurement
    figures = [float(x.replace(",", "")) for x in re.findall(r"([\d,]+\.\d+) (?:µs|ms)", out)]
    assert len(figures) >= 14 and all(x > 0 for x in figures), out
