"""Building a report: plan, run the proofs, the checks and the benchmarks, decide the claims.

    report = build_report(Path("cc-report"), backend="memory")

The caller writes it (`write_markdown`, `write_html`). Everything in it is computed by this
call; nothing is read from an earlier run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs

from cache_conformance.claims import load_register
from cache_conformance.report.execute import (
    decide_claims,
    measure_all,
    proof_pairs,
    run_jobs,
    run_proofs,
)
from cache_conformance.report.model import (
    NOT_SELECTED,
    SKIPPED,
    UNKNOWN,
    CheckResult,
    CheckRow,
    Job,
    Report,
)
from cache_conformance.report.plan import DEFAULT_EXAMPLES, GATE_EXAMPLES, claim_jobs, plan

__all__ = ["BUDGET_SECONDS", "JOB_TIMEOUT", "Progress", "build_report"]

BUDGET_SECONDS = 170.0  # the 3-minute target, less writing the files and start-up
JOB_TIMEOUT = 25.0  # a normal check takes 0.3-8 s here; beyond this one is stuck shrinking


class Progress:
    """What the builder tells its caller while it works (the CLI draws a progress bar)."""

    def total(self, n: int) -> None:
        """The number of steps the run will take."""

    def step(self, text: str) -> None:
        """One step finished; `text` says which."""

    def note(self, line: str) -> None:
        """Something the user must know now (a missing backend)."""


def _open_redis() -> tuple[Any, str | None, str]:
    """(backend, url, "") or (None, None, reason) when Redis cannot be used."""
    try:
        from conformance.backends import backend_for
    except ImportError as e:  # redis-py absent
        return None, None, f"the redis backend is not available ({e}): pip install 'cache-conformance[redis]'"
    try:
        backend = backend_for("redis")
    except Exception as e:  # noqa: BLE001 - BackendUnavailable, or anything the server start raised
        return None, None, f"the redis backend is not available: {e}"
    return backend, backend.redis_url, ""


def _time_limits(job_timeout: float | None, budget: float | None) -> str:
    limits = ([f"after {job_timeout:.0f} s" if job_timeout is not None else None]
              + [f"when {budget:.0f} s have passed" if budget else None])
    said = [x for x in limits if x]
    if not said:
        return "no check is stopped for its time"
    return f"a check still running {' or '.join(said)} is UNKNOWN"


def build_report(out_dir: Path, *, backend: str = "memory", examples: int | None = None,
                 seed: int = 0, workers: int = 2, budget: float | None = BUDGET_SECONDS,
                 progress: Progress | None = None, draw_graphs: bool = True,
                 only: tuple[str, ...] = (), job_timeout: float | None = JOB_TIMEOUT,
                 claims_only: bool = False) -> Report:
    """Run everything and return the report (the files are not written here, except the
    state-graph pictures, under `out_dir/graphs`).

    Args:
        backend: "memory", or "redis" to add the Redis rows (skipped with the reason when
            Redis cannot be used).
        examples: Hypothesis examples per check (default `DEFAULT_EXAMPLES`).
        budget: seconds after which checks not yet finished are UNKNOWN (None: no limit;
            the Redis backend has none by default).
        only: run only the checks whose factory contains one of these strings (a partial
            report: every other check is UNKNOWN, "not selected").
        claims_only: run only the checks the claims' evidence names (with the proofs and the
            benchmarks, which only claims and the proof table use): the built-in, mutant
            and seed-port rows not among them are UNKNOWN, "not selected".
        workers: checks run at a time, each in a process of its own.
        job_timeout: seconds after which one check is killed (UNKNOWN); None: no limit.
    """
    limit = float("inf") if job_timeout is None else job_timeout
    progress = progress or Progress()
    started = time.monotonic()
    deadline = None if budget is None else started + budget
    chosen = DEFAULT_EXAMPLES if examples is None else examples
    gate = GATE_EXAMPLES if examples is None else examples
    if examples is None:
        budget_note = (f"{gate} Hypothesis examples per built-in and mutant check, {chosen} per seed-port and "
                       f"claim check, chosen by measurement so the report on the embedded default finishes "
                       "within 3 minutes on a 2-core machine; " + _time_limits(job_timeout, budget))
    else:
        budget_note = (f"{chosen} Hypothesis examples per check, set with --examples (the defaults are "
                       f"{GATE_EXAMPLES} for built-ins and mutants, {DEFAULT_EXAMPLES} for the rest); "
                       "a smaller budget can miss bugs")
    claims = load_register()
    the_plan = plan(backend, claims, gate)
    skipped: list[str] = []
    redis, redis_url = None, None
    if backend == "redis":
        redis, redis_url, why = _open_redis()
        if why:
            skipped.append(f"{why}; the Redis rows are SKIPPED")
            progress.note(why)
    wanted = claim_jobs(the_plan, backend) if claims_only else set(the_plan.jobs)
    selected = [j for j in the_plan.jobs if j in wanted and (not only or any(o in j.factory for o in only))]
    results: dict[Job, CheckResult] = {
        j: CheckResult(j, UNKNOWN, reason=NOT_SELECTED)
        for j in the_plan.jobs if j not in selected}
    if only:
        budget_note += f"; a partial report: only checks of {', '.join(only)}"
    if claims_only:
        budget_note += "; a partial report: only the checks of the claims' evidence (--claims)"
    # One step per proof row run (the required rows of the proof table and the claims' own),
    # per check run and per benchmark: the bar ends at its total.
    progress.total(len(proof_pairs(the_plan.proofs)) + len(selected) + len(the_plan.benchmarks))
    graphs = out_dir / "graphs" if draw_graphs else None
    if graphs is not None:
        graphs.mkdir(parents=True, exist_ok=True)
    try:
        proof_rows, notes = run_proofs(the_plan.proofs, graphs,
                                       on_done=lambda r: progress.step(f"proof {r.protocol} x {r.property}"))
        for line in notes:
            progress.note(line)

        def done(result: CheckResult) -> None:
            progress.step(f"check {result.job.factory.rsplit(':', 1)[-1]} ({result.job.scenario()})")

        memory_jobs = [j for j in selected if j.backend == "memory" or redis_url is None]
        results |= run_jobs(memory_jobs, examples=chosen, seed=seed, redis_url=redis_url, workers=workers,
                           job_timeout=limit, deadline=deadline, on_done=done)
        redis_jobs = [j for j in selected if j not in results]
        # The Redis rows have no time target; they share one server, one check at a time.
        results.update(run_jobs(redis_jobs, examples=chosen, seed=seed, redis_url=redis_url, workers=1,
                                job_timeout=4 * limit, on_done=done))
        figures = measure_all(the_plan.benchmarks, redis)
        for item in the_plan.benchmarks:
            progress.step(f"benchmark {item.metric}")
    finally:
        if redis is not None:
            redis.close()
    if redis_url is None and backend == "redis":
        # Every Redis row says why it is skipped: the backend was asked for and is missing.
        results = {j: (attrs.evolve(r, reason=skipped[0]) if r.status == SKIPPED else r) for j, r in results.items()}
    checks = tuple(CheckRow(s.group, s.name, results[s.job], s.expected, s.clauses, s.note) for s in the_plan.rows)
    claim_rows = decide_claims(claims, backend, results, {(p.protocol, p.property): p for p in proof_rows}, figures)
    return Report(backend, chosen, budget_note, checks, tuple(proof_rows), tuple(claim_rows),
                  seconds=time.monotonic() - started, skipped=tuple(skipped))
