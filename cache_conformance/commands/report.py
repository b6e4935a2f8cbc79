"""`cache-conformance report [--out DIR] [--backend memory|redis] [--examples N] [--update-readme]`.

Exit codes: 0 the report was written and every built-in CONFORMS, every mutant VIOLATES,
every proof row is settled and every claim has a verdict; 1 the report was written but
something is not so (listed at the end); 2 bad input, such as an output directory that
cannot be written (one line, `cache-conformance report: error: ...`, nothing run, nothing
written). `main(argv, *, stream) -> int` runs it with argv the words after `report`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cache_conformance.command import Command, Errors, UsageError, dispatch
from cache_conformance.options import BACKEND, SEED

if TYPE_CHECKING:
    from cache_conformance.report.model import Report

__all__ = ["COMMANDS", "README_PATH", "main"]

README_PATH = Path(__file__).resolve().parents[2] / "README.md"

ERRORS = Errors(parse="cache-conformance report: error: {message}", usage="cache-conformance report: error: {message}")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _seconds(text: str) -> float:
    try:
        n = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not n >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return n


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("cc-report"), help="output directory (default %(default)s)")
    BACKEND.add(p, help="memory (default) or redis: adds the Redis implementations and seed ports")
    p.add_argument("--examples", type=_positive, default=None, help="Hypothesis examples per check")
    SEED.add(p)
    p.add_argument("--budget", type=_seconds, default=None, metavar="SECONDS",
                   help="checks still running after SECONDS are UNKNOWN (default: 170 on memory, none on "
                        "redis; 0: none, for a loaded machine)")
    p.add_argument("--update-readme", action="store_true",
                   help="also rewrite README.md's section 'What the seeds get wrong' from this run's verdicts")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--only", action="append", default=[], metavar="TEXT",
                   help="a partial report: run only checks whose factory contains TEXT (repeatable); "
                        "the others are UNKNOWN, so the exit code is 1")
    p.add_argument("--claims", action="store_true",
                   help="a partial report: run only the checks the claims' evidence names (the seed documents' "
                        "verdicts, as README.md shows them); the built-in, mutant and seed-port rows not among "
                        "them are UNKNOWN, so the exit code is 1")
    p.add_argument("--no-graphs", action="store_true", help="do not draw the state graphs")
    p.add_argument("--jobs", type=_positive, default=2, metavar="N",
                   help="checks run at a time, each in a process of its own (default %(default)s: one per core "
                        "of the 2-core machine the default budget was measured on)")
    p.add_argument("--check-timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="one check still running after SECONDS is killed and UNKNOWN (default: 25 on memory, "
                        "4 times that on redis; 0: no limit)")


def _writable(out: Path) -> None:
    """Raise UsageError unless `out` is (or can be made) a writable directory. Checked before
    anything runs, so a bad --out costs nothing and loses nothing."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"cannot write the report to {str(out)!r}: it is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".cc-probe-"):
            pass
    except OSError as e:
        raise UsageError(f"cannot write the report to {str(out)!r}: {e.strerror or e}") from None


class _Bar:
    """Progress on the stream: a rich bar on a terminal (or with CC_PROGRESS=1), else one
    plain line per finished step ("report: [12/105] check write_through (sequential)"),
    or nothing at all (--no-progress)."""

    def __init__(self, stream: TextIO, mode: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.mode = mode  # "bar", "lines" or "none"
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.progress = Progress(TextColumn("[bold]report"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=self.console,
                                 disable=mode != "bar", transient=False)
        self.task = self.progress.add_task("starting", total=None)
        self.done, self.of = 0, 0
        self.started = time.monotonic()

    def total(self, n: int) -> None:
        self.of = n
        self.progress.update(self.task, total=n)

    def step(self, text: str) -> None:
        self.done += 1
        self.progress.update(self.task, advance=1, description=text)
        if self.mode == "lines":
            width = len(str(self.of))
            self.note(f"[{self.done:>{width}}/{self.of}] {time.monotonic() - self.started:5.1f} s  {text}")

    def note(self, line: str) -> None:
        self.console.print(f"report: {line}", markup=False)


def _summary(report: Report, bar: _Bar) -> None:
    from rich.table import Table

    from cache_conformance.report.model import BUILTIN, MUTANT, SEED

    table = Table(title=f"cache-conformance report ({report.backend}, {report.seconds:.0f} s)")
    for col in ("part", "rows", "as expected", "details"):
        table.add_column(col)
    for group, want in ((BUILTIN, "CONFORMS"), (MUTANT, "VIOLATES")):
        rows = report.rows(group)
        bad = [f"{r.name} ({r.result.job.scenario()}): {r.result.status}" for r in rows
               if not r.met and not r.left_out]
        out = sum(1 for r in rows if r.left_out)
        bad += [f"{out} not selected (a partial report)"] if out else []
        table.add_row(f"{group}s", str(len(rows)), f"{sum(1 for r in rows if r.met)} {want}", "; ".join(bad) or "-")
    seeds = report.rows(SEED)
    counts: dict[str, int] = {}
    for r in seeds:
        counts[r.result.status] = counts.get(r.result.status, 0) + 1
    table.add_row("seed ports", str(len(seeds)), "-", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    settled = sum(1 for p in report.proofs if p.verdict in ("PROVED", "REFUTED"))
    table.add_row("proofs", str(len(report.proofs)), f"{settled} settled", "-")
    verdicts: dict[str, int] = {}
    for c in report.claims:
        verdicts[c.verdict.status] = verdicts.get(c.verdict.status, 0) + 1
    table.add_row("claims", str(len(report.claims)), "-", ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    bar.console.print(table)


def run(args: argparse.Namespace, stream: TextIO, err: TextIO) -> int:
    _writable(args.out)
    from cache_conformance.claims import load_register
    from cache_conformance.report.build import BUDGET_SECONDS, JOB_TIMEOUT, build_report
    from cache_conformance.report.html import render_html
    from cache_conformance.report.markdown import (
        render_markdown,
        render_seeds_section,
        replace_readme_section,
        write_timelines,
    )

    if args.no_progress:
        mode = "none"
    else:
        mode = "bar" if stream.isatty() or os.environ.get("CC_PROGRESS") == "1" else "lines"
    bar = _Bar(stream, mode)
    with bar.progress:
        budget = (BUDGET_SECONDS if args.backend == "memory" else None) if args.budget is None else (args.budget or None)
        timeout = JOB_TIMEOUT if args.check_timeout is None else (args.check_timeout or None)
        report = build_report(args.out, backend=args.backend, examples=args.examples, seed=args.seed, budget=budget,
                              progress=bar, only=tuple(args.only), draw_graphs=not args.no_graphs,
                              workers=args.jobs, job_timeout=timeout, claims_only=args.claims)
    try:
        write_timelines(report, args.out)
        (args.out / "report.md").write_text(render_markdown(report), encoding="utf-8")
        (args.out / "report.html").write_text(render_html(report), encoding="utf-8")
    except OSError as e:  # the directory was writable a moment ago: it changed under us
        raise UsageError(f"cannot write the report to {str(args.out)!r}: {e.strerror or e}") from None
    _summary(report, bar)
    for line in report.skipped:
        bar.note(f"skipped: {line}")
    bar.note(f"wrote {args.out / 'report.md'} and {args.out / 'report.html'} in {report.seconds:.1f} s")
    if args.update_readme:
        statuses = {c.claim.id: c.verdict.status for c in report.claims}
        text = README_PATH.read_text(encoding="utf-8")
        new = replace_readme_section(text, render_seeds_section(load_register(), statuses))
        if new != text:
            README_PATH.write_text(new, encoding="utf-8")
        bar.note(f"README section {'updated' if new != text else 'already up to date'}: {README_PATH}")
    # The rows a partial report (--only) left out are one line, not one each.
    left_out = report.left_out_line()
    for p in report.problems(left_out=False) + ([left_out] if left_out else []):
        bar.note(f"not as expected: {p}")
    return 1 if report.problems() else 0


COMMANDS = (Command("report", "proofs, checks of every implementation, the seeds' claims: report.md and report.html",
                    run, arguments=arguments, errors=ERRORS,
                    description="Run the proofs, every check and every claim; write report.md and report.html."),)


def main(argv: list[str], *, stream: TextIO = sys.stdout) -> int:
    """Run `cache-conformance report` with `argv` (the words after `report`), its output and
    its errors on `stream`."""
    return dispatch(COMMANDS, ["report", *argv], stdout=stream, stderr=stream, errors=ERRORS)
