"""Running what the plan lists: checks in worker processes, the proofs, the benchmarks.

Checks run two at a time (this machine has two cores), each in a forked process of its
own, so that a check that hangs or runs away is killed at its time limit and reported
UNKNOWN instead of holding the whole report past its 3-minute budget. A check that never
started because the budget ran out is UNKNOWN too, with that reason: never a pass.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from cache_conformance.claims import Benchmark, Check, Claim, Outcome, Proof, decide
from cache_conformance.claims.evidence import REDIS_ONLY, measure, outcome_of
from cache_conformance.report.model import (
    SKIPPED,
    UNKNOWN,
    CheckResult,
    ClaimRow,
    Job,
    ProofRow,
)
from cache_conformance.report.plan import job_of

__all__ = ["GRAPH_LIMIT", "decide_claims", "measure_all", "proof_pairs", "run_job", "run_jobs", "run_proofs"]

# State graphs larger than this are not drawn: dot takes long and the picture is unreadable
# even with zoom.
GRAPH_LIMIT = 400

Progress = Callable[[str], None]


def run_job(job: Job, examples: int, seed: int = 0, redis_url: str | None = None) -> CheckResult:
    """Run one check in this process and flatten its report to strings."""
    import attrs

    from conformance.check import run_check
    from conformance.errors import UsageError
    from model.policies import policy as lookup_policy

    backend = None
    try:
        if job.backend == "redis":
            if redis_url is None:
                return CheckResult(job, SKIPPED, reason=f"a Redis subject: {REDIS_ONLY}")
            from conformance.backends import backend_for

            backend = backend_for("redis", redis_url=redis_url)
        policy = lookup_policy(job.policy)
        if job.faults is not None:
            policy = attrs.evolve(policy, faults=job.faults)
        report = run_check(job.factory, policy, examples=job.examples or examples, seed=seed, backend=backend,
                           clients=job.clients, instances=job.instances)
    except UsageError as e:
        return CheckResult(job, UNKNOWN, reason=f"could not run: {e}")
    finally:
        if backend is not None:
            backend.close()
    v = report.verdict
    reason = v.reason or ""
    if v.violation is not None:
        reason = f"expected {v.violation.expected}; observed {v.violation.observed}"
    text = page = None
    if v.status == "VIOLATES" and report.history:
        from conformance.timeline import render_html, render_text

        try:
            text, page = render_text(report), render_html(report)
        except Exception as e:  # noqa: BLE001 - a timeline is an illustration: its failure must not lose the verdict
            text = f"(no timeline: {type(e).__name__}: {e})"
    return CheckResult(job, v.status, report.clause, reason, report.examples, report.seconds,
                       report.counterexample, text, page)


def _child(conn: Connection, job: Job, examples: int, seed: int, redis_url: str | None) -> None:
    try:
        result = run_job(job, examples, seed, redis_url)
    except BaseException as e:  # noqa: BLE001 - report any failure of the harness as an open verdict
        result = CheckResult(job, UNKNOWN, reason=f"the check failed: {type(e).__name__}: {e}")
    conn.send(result)
    conn.close()
    # Leave at once: a subject's leftover threads must not keep the worker alive.
    os._exit(0)


def run_jobs(jobs: Iterable[Job], *, examples: int, seed: int = 0, redis_url: str | None = None,
             workers: int = 2, job_timeout: float = 60.0, deadline: float | None = None,
             on_done: Callable[[CheckResult], None] | None = None) -> dict[Job, CheckResult]:
    """Run every job, `workers` at a time, each in its own forked process.

    Args:
        job_timeout: seconds after which a running check is killed (UNKNOWN).
        deadline: a `time.monotonic()` instant; jobs not started by then are UNKNOWN, and
            running ones are killed at it.
    """
    ctx = multiprocessing.get_context("fork")  # the parent has everything imported: cheap starts
    pending = list(jobs)
    running: dict[Connection, tuple[Any, Job, float]] = {}
    results: dict[Job, CheckResult] = {}

    def done(result: CheckResult) -> None:
        results[result.job] = result
        if on_done is not None:
            on_done(result)

    while pending or running:
        now = time.monotonic()
        while pending and len(running) < workers:
            job = pending.pop(0)
            if deadline is not None and now >= deadline:
                done(CheckResult(job, UNKNOWN, reason="not run: the report's time budget ran out"))
                continue
            if job.backend == "redis" and redis_url is None:
                done(CheckResult(job, SKIPPED, reason=f"a Redis subject: {REDIS_ONLY}"))
                continue
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(child, job, examples, seed, redis_url), daemon=True)
            proc.start()
            child.close()
            running[parent] = (proc, job, now)
        if not running:
            continue
        for conn in wait(list(running), timeout=0.2):
            proc, job, started = running.pop(conn)  # type: ignore[index]
            try:
                result = conn.recv()  # before join: a large result would block the child's send
            except EOFError:
                proc.join(1)
                result = CheckResult(job, UNKNOWN, reason=f"the check's process died (exit code {proc.exitcode})",
                                     seconds=time.monotonic() - started)
            proc.join(5)
            conn.close()
            done(result)
        now = time.monotonic()
        for conn, (proc, job, started) in list(running.items()):
            limit = started + job_timeout
            if deadline is not None:
                limit = min(limit, deadline)
            if now >= limit:
                proc.kill()
                proc.join(5)
                conn.close()
                del running[conn]
                why = (f"killed after {now - started:.0f} s: the per-check time limit is {job_timeout:.0f} s"
                       if limit < (deadline or float("inf")) else "killed: the report's time budget ran out")
                done(CheckResult(job, UNKNOWN, reason=why, seconds=now - started))
    return results


def proof_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The proof rows a report runs: every required row of the proof table, then the other
    pairs the claims need, each once (what `run_proofs` runs, in its order)."""
    from model.protocols import REQUIRED

    ordered = [(r.protocol, r.property) for r in REQUIRED] + list(pairs)
    return list(dict.fromkeys(ordered))


def run_proofs(pairs: Iterable[tuple[str, str]], graphs_dir: Path | None,
               on_done: Callable[[ProofRow], None] | None = None) -> tuple[list[ProofRow], list[str]]:
    """Settle every protocol x property pair on both engines and draw its state graph.

    Each picture is drawn by Graphviz when `dot` is on PATH, else by the built-in layout
    (`cache_conformance.report.graphs`): never skipped for want of Graphviz. Returns the rows
    and the lines the user should read once (how the pictures were drawn).
    """
    import shutil

    from cache_conformance.report.graphs import draw_svg
    from model.protocols import (
        REQUIRED,
        build,
        property_by_id,
        protocol_by_id,
        rows_for,
    )
    from proofs import explicit
    from proofs.graph import RenderError, render, to_dot
    from proofs.runner import run_row

    required = {(r.protocol, r.property) for r in REQUIRED}
    has_dot = shutil.which("dot") is not None
    notes = [] if has_dot or graphs_dir is None else [
        "state graphs drawn with the built-in layout, as Graphviz 'dot' is not on PATH; "
        "for clearer edges: apt-get install -y graphviz"]
    rows = []
    for protocol, prop in proof_pairs(pairs):
        row = rows_for(protocol, prop)[0]
        reason = property_by_id(prop).applies(row.scenario)
        scenario = row.scenario.describe()
        if reason:
            out = ProofRow(protocol, prop, scenario, UNKNOWN, (), note=f"does not apply to this scenario: {reason}",
                           required=False)
        else:
            outcome = run_row(row)
            first = outcome.results[0]
            trace = next((r.trace for r in outcome.results if r.trace is not None), None)
            out = ProofRow(
                protocol, prop, scenario, first.verdict if outcome.settled else UNKNOWN,
                tuple((r.engine, r.verdict, r.bound, r.seconds) for r in outcome.results),
                states=next((r.states for r in outcome.results if r.states is not None), None),
                trace=tuple(trace.lines()) if trace is not None else (), note=outcome.note,
                required=(protocol, prop) in required)
            graph, graph_note, svg = None, "", None
            if graphs_dir is None:
                graph_note = "not drawn"
            elif (out.states or 0) > GRAPH_LIMIT:
                graph_note = f"not drawn: {out.states} states (limit {GRAPH_LIMIT})"
            else:
                ex = explicit.explore(build(protocol_by_id(protocol), row.scenario))
                dot = to_dot(ex, property_by_id(prop))
                path = graphs_dir / f"{protocol}--{prop}.svg"
                try:
                    if has_dot:
                        render(dot, path, "svg")
                    else:
                        path.write_text(draw_svg(dot), encoding="utf-8")
                    graph = f"{graphs_dir.name}/{path.name}"
                    svg = path.read_text(encoding="utf-8")
                    graph_note = "drawn by Graphviz" if has_dot else "drawn by the built-in layout (no Graphviz)"
                except (RenderError, OSError) as e:
                    graph_note = f"not drawn: {e}"
            out = _with_graph(out, graph, graph_note, svg)
        rows.append(out)
        if on_done is not None:
            on_done(out)
    return rows, notes


def _with_graph(row: ProofRow, graph: str | None, note: str, svg: str | None) -> ProofRow:
    import attrs

    return attrs.evolve(row, graph=graph, graph_note=note, graph_svg=svg)


def measure_all(items: Iterable[Benchmark], backend: Any) -> dict[Benchmark, Outcome]:
    """The figure of each benchmark item (SKIPPED with the reason when it needs Redis and
    `backend` is None; UNKNOWN if the measurement itself failed)."""
    out = {}
    for item in items:
        try:
            out[item] = measure(item, backend=backend)
        except Exception as e:  # noqa: BLE001 - a failed measurement is an open item, never a figure
            out[item] = Outcome(UNKNOWN, detail=f"measurement failed: {type(e).__name__}: {e}")
    return out


def decide_claims(claims: Iterable[Claim], backend: str, checks: dict[Job, CheckResult],
                  proofs: dict[tuple[str, str], ProofRow],
                  figures: dict[Benchmark, Outcome]) -> list[ClaimRow]:
    """Feed every claim's evidence, produced by this run, to `decide`."""
    rows = []
    for claim in claims:
        outcomes = []
        for e in claim.evidence:
            item = e.item
            if isinstance(item, Check):
                r = checks.get(job_of(item, backend))
                if r is None:
                    outcomes.append(Outcome(UNKNOWN, detail="the check did not run"))
                elif r.status in (UNKNOWN, SKIPPED):
                    outcomes.append(Outcome(r.status, detail=r.reason))
                else:
                    outcomes.append(outcome_of(item, r.status, r.clause, r.reason))
            elif isinstance(item, Proof):
                p = proofs.get((item.protocol, item.property))
                if p is None or p.verdict not in ("PROVED", "REFUTED"):
                    outcomes.append(Outcome(UNKNOWN, detail=p.note if p else "the proof did not run"))
                else:
                    outcomes.append(Outcome(p.verdict, detail=f"{len(p.trace)}-step trace" if p.trace else p.scenario))
            else:
                outcomes.append(figures.get(item, Outcome(UNKNOWN, detail="not measured")))
        rows.append(ClaimRow(claim, tuple(outcomes), decide(claim, outcomes)))
    return rows
