"""`cache-conformance`: check, policies, prove, explore, bench, report.

One function per subcommand; `main(argv, stdout=, stderr=) -> int` so tests inject
everything. Exit codes: 0 CONFORMS / success, 1 VIOLATES or UNKNOWN, 2 usage error or a
subject that cannot be built (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from conformance.errors import UsageError

__all__ = ["entrypoint", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cache-conformance", description="Check cache implementations against their write policy.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    c = sub.add_parser("check", help="check a subject against a policy")
    c.add_argument("target", help="module:factory or path/to/file.py:factory")
    c.add_argument("--policy", required=True, help="write-through, write-behind (write-back), write-around, cache-aside, read-through")
    c.add_argument("--examples", type=int, default=None, help="Hypothesis examples (default 500)")
    c.add_argument("--steps", type=int, default=None, help="steps per example (default 30)")
    c.add_argument("--seed", type=int, default=0, help="fixes the search: the same seed, the same examples (default 0)")
    c.add_argument("--timeout", type=float, default=2.0,
                   help="seconds a subject call may take before it counts as hung (default 2)")
    c.add_argument("--staleness", type=float, default=None, help="bounded-staleness bound in seconds (default: subject.fill_ttl, else 300)")
    c.add_argument("--json", dest="json_path", default=None, help="write the report as JSON here")
    c.add_argument("--html", dest="html_path", default=None, help="write a self-contained HTML timeline of the reported run here")
    c.add_argument("--no-timeline", action="store_true", help="do not print the text timeline")
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
    c.add_argument("--backend", choices=("memory", "redis"), default="memory",
                   help="memory: in-process stores (default); redis: a real Redis and SQLite or PostgreSQL")
    c.add_argument("--redis-url", default=None,
                   help="a Redis to use (redis://, rediss://; default REDIS_URL, else a redis-server started here)")
    c.add_argument("--database", default=None, help="sqlite path or postgresql:// URL (redis backend)")
    sub.add_parser("policies", help="list the policies and their clauses")
    for name, what in (("prove", "prove the protocol models' properties (see proofs/)"),
                       ("explore", "explore one protocol model's state graph (see proofs/)"),
                       ("scenario", "validate a proof scenario file")):
        q = sub.add_parser(name, help=what, add_help=False)
        q.add_argument("rest", nargs=argparse.REMAINDER)
    r = sub.add_parser("report", help="proofs, checks of every implementation, the seeds' claims: report.md and report.html", add_help=False)
    r.add_argument("rest", nargs=argparse.REMAINDER)
    b = sub.add_parser("bench", help="the write-policy benchmark on real Redis (+ SQLite or PostgreSQL)", add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    return p


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list and args_list[0] in ("prove", "explore", "scenario"):
            from cache_conformance.commands.prove import main as proofs_main

            return proofs_main(args_list, stream=out)
        if args_list and args_list[0] == "report":
            from cache_conformance.commands.report import main as report_main

            return report_main(args_list[1:], stream=out)
        if args_list and args_list[0] == "bench":
            from cache_conformance.bench import main as bench_main

            return bench_main(args_list[1:], stream=out)
        args = _parser().parse_args(args_list)
        if args.command == "check":
            return _check(args, out, err)
        if args.command == "policies":
            return _policies(out)
        _parser().print_help(out)
        return 2
    except UsageError as e:
        print(f"cache-conformance: error: {e}", file=err)
        return 2
    except KeyboardInterrupt:
        print("cache-conformance: interrupted", file=err)
        return 130


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from conformance.check import DEFAULT_EXAMPLES, DEFAULT_STEPS, run_check

    json_path = Path(args.json_path) if args.json_path else None
    html_path = Path(args.html_path) if args.html_path else None
    for path in (json_path, html_path):
        if path is not None:
            _check_writable(path)
    backend = _backend(args)
    for warning in getattr(backend, "warnings", ()):
        print(f"cache-conformance: warning: {warning}", file=err)
    replay_file = args.replay or args.scenario
    try:
        if args.exhaustive:
            from conformance.exhaustive import explore_schedules, parse_ops

            initial = dict(kv.split("=", 1) for kv in args.initial.split(",")) if args.initial else None
            if initial is not None and any(not k for k in initial):
                raise UsageError(f"bad --initial {args.initial!r}: expected key=value,...")
            report = explore_schedules(args.target, args.policy, parse_ops(args.exhaustive),
                                       preemptions=args.preemptions, instances=args.instances,
                                       op_timeout=args.timeout, initial=initial, backend=backend)
        elif replay_file:
            from conformance.replay import load_replay, replay

            if args.replay and args.scenario:
                raise UsageError("give --replay or --scenario, not both")
            loaded = load_replay(replay_file)
            report = replay(args.target, args.policy, loaded, op_timeout=args.timeout, backend=backend)
        else:
            report = run_check(
                args.target, args.policy,
                examples=args.examples if args.examples is not None else DEFAULT_EXAMPLES,
                steps=args.steps if args.steps is not None else DEFAULT_STEPS,
                seed=args.seed, op_timeout=args.timeout, staleness=args.staleness, backend=backend,
                clients=args.clients, instances=args.instances, schedule=args.schedule,
            )
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
    # The files first: a reader that closes the pipe early must not cost the user them.
    # A file that cannot be written after all (checked writable above, refused at open:
    # /proc, a full disk) still leaves the verdict printed; its one line comes after.
    unwritten: list[str] = []
    if json_path is not None:
        try:
            json_path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            unwritten.append(f"cannot write {str(json_path)!r}: {e.strerror or e}")
    if html_path is not None:
        from conformance.timeline import write_html

        try:
            write_html(report, html_path)
        except OSError as e:
            unwritten.append(f"cannot write {str(html_path)!r}: {e.strerror or e}")
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


def _backend(args: argparse.Namespace) -> Any:
    if args.backend == "memory":
        if args.redis_url or args.database:
            raise UsageError("--redis-url and --database need --backend redis")
        return None
    try:
        from conformance.backends import backend_for
    except ImportError as e:
        raise UsageError(f"the redis backend is not available: {e}") from None
    return backend_for("redis", redis_url=args.redis_url, database=args.database)


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write {str(path)!r}: permission denied")


def _policies(out: TextIO) -> int:
    from model import POLICIES

    for p in POLICIES.values():
        alias = f" (alias: {', '.join(p.aliases)})" if p.aliases else ""
        print(f"{p.name}{alias}: {p.summary}", file=out)
        for c in p.clauses:
            print(f"  - {c.id}: {c.text}", file=out)
        print(f"  faults: {', '.join(p.faults)}", file=out)
    return 0


def entrypoint() -> None:
    """The console script: like main(), and the process exits even if a subject left
    non-daemon threads behind."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours; drop what is left
        # instead of a traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entrypoint()
