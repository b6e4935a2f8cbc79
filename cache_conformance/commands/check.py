"""`cache-conformance check TARGET --policy P`: check a subject against its policy.

One of three modes: a Hypothesis search (the default), every interleaving of one small
scenario (`--exhaustive`), or a replay of a recorded run or of a proof's scenario
(`--replay`, `--scenario`). Exit codes: 0 CONFORMS, 1 VIOLATES or UNKNOWN, 2 bad input or a
subject that cannot be built (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cache_conformance import exec_option
from cache_conformance.command import Command, UsageError
from cache_conformance.options import (
    BACKEND,
    DATABASE,
    JSON,
    JUNIT,
    REDIS_URL,
    SEED,
    TIMEOUT,
    backend_from,
    check_writable,
    write_files,
)

if TYPE_CHECKING:
    from conformance import CheckReport
    from conformance.backend import Backend
    from conformance.target import Target

__all__ = ["COMMANDS"]


def arguments(c: argparse.ArgumentParser) -> None:
    # The help texts name the defaults run_check applies: --examples/--steps stay None
    # here so that a report can tell "not given" (a test keeps the two in step).
    c.add_argument("target", nargs="?", default=None, help="module:factory or path/to/file.py:factory (or --exec)")
    c.add_argument("--policy", required=True,
                   help="write-through, write-behind (write-back), write-around, cache-aside, read-through")
    c.add_argument("--examples", type=int, default=None, help="Hypothesis examples (default 500)")
    c.add_argument("--steps", type=int, default=None, help="steps per example (default 30)")
    SEED.add(c, help="fixes the search: the same seed, the same examples (default 0)")
    TIMEOUT.add(c, default=None, help="seconds a subject call may take before it counts as hung (default 2; 10 with --exec)")
    c.add_argument("--staleness", type=float, default=None,
                   help="bounded-staleness bound in seconds (default: subject.fill_ttl, else 300)")
    c.add_argument("--faults", type=_fault_list, default=None, metavar="LIST",
                   help="the faults the search may inject: a comma-separated subset of the policy's "
                        "(`cache-conformance policies` lists them; e.g. db-down,evict; 'none' for no "
                        "faults; default: all of them)")
    JSON.add(c, help="write the report as JSON here")
    JUNIT.add(c, help="write the verdict as JUnit XML here (one testcase: VIOLATES a <failure>, "
                      "UNKNOWN an <error>)")
    c.add_argument("--html", dest="html_path", default=None, metavar="PATH",
                   help="write a self-contained HTML timeline of the reported run here")
    c.add_argument("--no-timeline", action="store_true", help="do not print the text timeline")
    c.add_argument("--record", dest="record_path", default=None, metavar="FILE",
                   help="write the reported run's history here as JSON Lines (schema 1: check it again with check-history)")
    c.add_argument("--replay", default=None, metavar="FILE",
                   help="replay a recorded run (a printed counterexample, a --json report) instead of searching")
    c.add_argument("--exhaustive", default=None, metavar="OPS",
                   help="explore every interleaving of one small scenario, e.g. 'c0:read:k0 c1:write:k0'")
    c.add_argument("--preemptions", type=int, default=2, help="preemption bound of --exhaustive (default 2)")
    c.add_argument("--initial", default=None, metavar="K=V,...", help="DB contents before --exhaustive runs")
    c.add_argument("--scenario", default=None, metavar="FILE",
                   help="replay a proof scenario (cache-conformance/scenario@1, from `prove --scenarios`)")
    c.add_argument("--clients", type=int, default=1, help="concurrent clients (batches interleaved step by step)")
    c.add_argument("--instances", type=int, default=1, help="application instances sharing one cache and one DB")
    c.add_argument("--schedule", choices=("hypothesis", "pct"), default="hypothesis",
                   help="how concurrent batches are interleaved (default: drawn by Hypothesis, so they shrink)")
    BACKEND.add(c, help="memory: in-process stores (default); redis: a real Redis and SQLite or PostgreSQL")
    REDIS_URL.add(c, help="a Redis to use (redis://, rediss://; default REDIS_URL, else a redis-server started here)")
    DATABASE.add(c)
    exec_option.add(c)


def _fault_list(text: str) -> tuple[str, ...]:
    """`--faults`: names separated by commas; '' or 'none' is no fault at all. Whether the
    policy has them is decided by the check (the policy is known only there)."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    return () if names == ("none",) else names


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from conformance import UsageError as HarnessUsageError

    try:
        with exec_option.exec_target(args) as subject_process:
            code = _check(args, out, err)
            exec_option.after_check(subject_process, code, out)
            return code
    except HarnessUsageError as e:  # an unknown policy, a target that cannot be built...
        raise UsageError(str(e)) from None


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    json_path = Path(args.json_path) if args.json_path else None
    html_path = Path(args.html_path) if args.html_path else None
    record_path = Path(args.record_path) if getattr(args, "record_path", None) else None
    junit_path = Path(args.junit_path) if args.junit_path else None
    for path in (json_path, html_path, record_path, junit_path):
        if path is not None:
            check_writable(path)
    if args.faults is not None and (args.exhaustive or args.replay or args.scenario):
        raise UsageError("--faults chooses the faults of the search; --exhaustive, --replay and --scenario "
                         "inject only the faults they are given")
    from cache_conformance.junit import write_junit
    from conformance.backend import MemoryBackend
    from conformance.histories.record import record
    from conformance.target import resolve_target
    from conformance.timeline import write_html

    # The target and the policy are resolved once, here: every mode receives the same
    # value, so a bad policy or target is the same one line whichever mode was asked for.
    target = resolve_target(args.target, args.policy)
    backend = backend_from(args) or MemoryBackend()
    for warning in backend.warnings:
        print(f"cache-conformance: warning: {warning}", file=err)
    try:
        report = _verdict(args, target, backend)
    finally:
        backend.close()
    unwritten = write_files((
        (json_path, lambda p: p.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")),
        (html_path, lambda p: write_html(report, p)),
        (record_path, lambda p: record(report, p, staleness=args.staleness)),
        (junit_path, lambda p: write_junit([report], p, suite="cache-conformance check")),
    ))
    code = 0 if report.verdict.status == "CONFORMS" else 1
    try:
        print(report.render(), file=out)
        if report.verdict.status != "CONFORMS" and report.history and not args.no_timeline:
            from conformance.timeline import render_text

            print("\ntimeline:\n" + render_text(report, color=out.isatty()), file=out)
    except BrokenPipeError:
        pass  # `check ... | head`: the verdict is the exit code; entrypoint() silences stdout
    if unwritten:
        raise UsageError("; ".join(unwritten))
    return code


def _verdict(args: argparse.Namespace, target: Target, backend: Backend) -> CheckReport:
    """The CheckReport of the mode the options ask for."""
    if args.exhaustive:
        from conformance.exhaustive import explore_schedules, parse_ops

        initial = dict(kv.split("=", 1) for kv in args.initial.split(",")) if args.initial else None
        if initial is not None and any(not k for k in initial):
            raise UsageError(f"bad --initial {args.initial!r}: expected key=value,...")
        return explore_schedules(target, None, parse_ops(args.exhaustive),
                                 preemptions=args.preemptions, instances=args.instances,
                                 op_timeout=args.timeout, initial=initial, backend=backend)
    if args.replay or args.scenario:
        from conformance.replay import load_replay, replay

        if args.replay and args.scenario:
            raise UsageError("give --replay or --scenario, not both")
        loaded = load_replay(args.replay or args.scenario)
        return replay(target, None, loaded, op_timeout=args.timeout, backend=backend)
    from conformance import DEFAULT_EXAMPLES, DEFAULT_STEPS, run_check

    return run_check(
        target, None,
        examples=args.examples if args.examples is not None else DEFAULT_EXAMPLES,
        steps=args.steps if args.steps is not None else DEFAULT_STEPS,
        seed=args.seed, op_timeout=args.timeout, staleness=args.staleness, backend=backend,
        clients=args.clients, instances=args.instances, schedule=args.schedule, faults=args.faults,
    )


COMMANDS = (Command("check", "check a subject against a policy", run, arguments=arguments),)
