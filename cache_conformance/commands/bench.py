"""`cache-conformance bench`: the write-policy benchmark on real Redis (+ SQLite or
PostgreSQL), `cache_conformance.bench`.

Exit 0 after printing (a benchmark, not a gate: `--strict` exits 1 on a missed target),
2 when a server is unavailable (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from cache_conformance.command import Command, UsageError, dispatch
from cache_conformance.options import JSON, REDIS_URL

__all__ = ["COMMANDS", "main"]

def arguments(parser: argparse.ArgumentParser) -> None:
    from cache_conformance.bench import PLACEMENTS

    parser.add_argument("--writes", type=int, default=2000, help="writes per measured row (default 2000)")
    parser.add_argument("--database", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--postgres-url", default=None, help="default: DATABASE_URL or the local server")
    REDIS_URL.add(parser, help="default: REDIS_URL or a redis-server started here")
    parser.add_argument("--batch-size", type=int, default=256)
    JSON.add(parser)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--placement", choices=[*PLACEMENTS, "both"], default=None,
                        help="shared: client and Redis pinned to one CPU; split: to two; both "
                             "(the default when the benchmark starts its own redis-server): "
                             "shared, then split; os: left to the scheduler (the default, "
                             "and the only choice, with --redis-url or REDIS_URL)")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import attrs

    from cache_conformance import bench
    from conformance.backends import BackendUnavailable
    from conformance.backends.server import ServerUnavailable

    if args.writes < 10 or args.batch_size < 1:
        raise UsageError("--writes must be at least 10 and --batch-size at least 1")
    try:
        figures = bench.benchmark(args.redis_url or os.environ.get("REDIS_URL"), database=args.database,
                                  postgres=args.postgres_url, writes=args.writes, batch_size=args.batch_size,
                                  placement=args.placement)
    except (ServerUnavailable, BackendUnavailable, bench.PlacementUnavailable) as exc:
        raise UsageError(str(exc)) from None
    except (ConnectionError, TimeoutError) as exc:
        raise UsageError(f"a server went away during the benchmark: {exc}") from None
    print(bench.render(figures), file=out)
    if args.json_path:
        try:
            with open(args.json_path, "w", encoding="utf-8") as file:
                json.dump([{**attrs.asdict(f), "ratios": f.ratios(), "met": f.met(),
                            "seed_001": bench.SEED_001} for f in figures], file, indent=2)
        except OSError as exc:  # the figures are printed above: nothing is lost
            raise UsageError(f"cannot write --json {args.json_path}: {exc.strerror or exc}") from None
    missed = [name for f in figures for name, ok in f.met().items() if not ok]
    return 1 if args.strict and missed else 0


COMMANDS = (Command("bench", "the write-policy benchmark on real Redis (+ SQLite or PostgreSQL)", run,
                    arguments=arguments,
                    description="Write-policy benchmark on real Redis + PostgreSQL and Redis + SQLite."),)


def main(argv: list[str], *, stream: TextIO | None = None) -> int:
    """Run `cache-conformance bench` with `argv` (the words after `bench`): the figures on
    `stream` (default stdout), errors on stderr."""
    return dispatch(COMMANDS, ["bench", *argv], stdout=stream or sys.stdout, stderr=sys.stderr)
