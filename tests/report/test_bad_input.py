"""Bad input: an output directory that cannot be written is one line and exit 2, before
anything runs; a missing Redis backend is one line, the rest of the report is produced and
the Redis rows are SKIPPED with the reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cache_conformance.commands.report import main
from cache_conformance.report import build
from cache_conformance.report.execute import run_jobs
from cache_conformance.report.model import Job


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_an_unwritable_out_is_one_line_and_exit_2(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    out = blocker if where == "a-file" else blocker / "report"
    stream = io.StringIO()
    assert main(["--out", str(out), "--examples", "1"], stream=stream) == 2
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cache-conformance report: error: cannot write the report to")
    assert blocker.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


@pytest.mark.parametrize("argv", [["--examples", "0"], ["--backend", "postgres"], ["--bogus"], ["--budget", "-1"],
                                  ["--jobs", "0"], ["--check-timeout", "-1"], ["--check-timeout", "soon"]])
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, argv: list[str]) -> None:
    stream = io.StringIO()
    assert main(["--out", str(tmp_path / "r"), *argv], stream=stream) == 2
    assert len(stream.getvalue().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_a_missing_redis_backend_skips_its_rows_and_keeps_the_rest(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "the redis backend is not available: no redis-server on PATH"
    monkeypatch.setattr(build, "_open_redis", lambda: (None, None, reason))
    stream = io.StringIO()
    code = main(["--out", str(tmp_path), "--backend", "redis", "--examples", "2", "--no-progress", "--no-graphs",
                 "--only", "implementations.memory:write_through", "--only", "implementations.redis:write_through"],
                stream=stream)
    assert code == 1
    assert f"report: {reason}" in stream.getvalue().splitlines()
    md = (tmp_path / "report.md").read_text()
    redis_rows = [line for line in md.splitlines() if line.startswith("| `redis:write_through`")]
    assert len(redis_rows) == 2 and all("SKIPPED" in r and "not available" in r for r in redis_rows)
    memory_rows = [line for line in md.splitlines() if line.startswith("| `memory:write_through`")]
    assert memory_rows and all("CONFORMS ✓" in r for r in memory_rows)
    assert "claim 001-speedup has no verdict (SKIPPED)" in md  # asked for, missing: not a pass


def test_a_check_past_its_time_limit_is_killed_and_unknown() -> None:
    job = Job("implementations.memory:write_through", "write-through")
    (result,) = run_jobs([job], examples=10_000, job_timeout=1.0).values()
    assert result.status == "UNKNOWN" and "killed" in result.reason


def test_checks_past_the_budget_are_not_run_and_unknown() -> None:
    import time

    jobs = [Job("implementations.memory:write_through", "write-through"), Job("implementations.memory:cache_aside", "cache-aside")]
    results = run_jobs(jobs, examples=2, deadline=time.monotonic() - 1)
    assert {r.status for r in results.values()} == {"UNKNOWN"}
    assert all("budget" in r.reason for r in results.values())
