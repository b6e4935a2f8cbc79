"""Options several subcommands take, each defined once: its flag, type, choices and default.

A subcommand adds one with `SEED.add(parser, help=...)`; keyword arguments override the
definition (a help text says what the option means to that subcommand, `required=True`).
What an option's value means beyond argparse (the backend it opens, a file it will write)
is interpreted here too, once.

    def arguments(parser):
        JSON.add(parser, help="write the result as JSON here")
        TIMEOUT.add(parser)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from cache_conformance.command import UsageError

__all__ = [
    "BACKEND",
    "DATABASE",
    "JSON",
    "JUNIT",
    "PROPERTY",
    "PROTOCOL",
    "REDIS_URL",
    "SEED",
    "TIMEOUT",
    "Option",
    "backend_from",
    "check_writable",
    "writable_file",
    "write_files",
]


@attrs.frozen
class Option:
    """One option of argparse: its flags and `add_argument` keywords."""

    flags: tuple[str, ...]
    settings: dict[str, Any] = attrs.field(factory=dict)

    def add(self, parser: argparse.ArgumentParser, **overrides: Any) -> argparse.Action:
        return parser.add_argument(*self.flags, **{**self.settings, **overrides})


def _option(*flags: str, **settings: Any) -> Option:
    return Option(flags, settings)


def writable_file(text: str) -> str:
    """argparse `type` of an output file: `text` itself, once a file can be written there.

    Checked while the command line is parsed, so a path that cannot be written is refused
    before anything runs (a check, the proofs, a benchmark), with the parser's one line."""
    try:
        check_writable(Path(text))
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


#: A file the subcommand writes its result to, as JSON (`args.json_path`, a str or None).
JSON = _option("--json", dest="json_path", type=writable_file, default=None, metavar="PATH")
#: A file the subcommand writes its verdicts to as JUnit XML (`args.junit_path`, a str or None).
JUNIT = _option("--junit", dest="junit_path", type=writable_file, default=None, metavar="PATH")
SEED = _option("--seed", type=int, default=0)
#: Seconds a subject call may take before it counts as hung; validated by the harness
#: (a non-positive or NaN value is a usage error there).
TIMEOUT = _option("--timeout", type=float, default=2.0,
                  help="seconds a subject call may take before it counts as hung (default 2)")
BACKEND = _option("--backend", choices=("memory", "redis"), default="memory")
REDIS_URL = _option("--redis-url", default=None)
DATABASE = _option("--database", default=None, help="sqlite path or postgresql:// URL (redis backend)")
PROTOCOL = _option("--protocol")
PROPERTY = _option("--property")


def backend_from(args: argparse.Namespace) -> Any:
    """The store backend that `--backend`, `--redis-url` and `--database` name: None for
    the in-memory stores (the harness's default), else an open Redis backend.

    Raises:
        UsageError: `--redis-url`/`--database` without `--backend redis`, or the redis
            client library is not installed. (`backend_for` raises the harness's own
            usage error for a server it cannot reach.)
    """
    if args.backend == "memory":
        if args.redis_url or args.database:
            raise UsageError("--redis-url and --database need --backend redis")
        return None
    try:
        from conformance.backends import backend_for
    except ImportError as e:
        raise UsageError(f"the redis backend is not available: {e}") from None
    return backend_for("redis", redis_url=args.redis_url, database=args.database)


def check_writable(path: Path) -> None:
    """Raise UsageError unless a file can be written at `path` (a writable file, or a new
    file in a writable directory): checked before a subcommand runs, so a bad path costs
    nothing."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"cannot write {str(path)!r}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    # An existing file needs only its own write permission (replacing its contents does not
    # touch the directory); a new one needs the directory's.
    writable = os.access(path, os.W_OK) if path.exists() else os.access(parent, os.W_OK)
    if not writable:
        raise UsageError(f"cannot write {str(path)!r}: permission denied")


def write_files(outputs: Iterable[tuple[Path | None, Callable[[Path], None]]]) -> list[str]:
    """Write each output whose path was given, with its writer; the one-line reason of each
    that could not be written.

    Called before the verdict is printed: a reader that closes the pipe early must not cost
    the user the files. A file checked writable before the check can still be refused at
    open (/proc, a full disk): its line is raised after the verdict, never instead of it."""
    unwritten: list[str] = []
    for path, write in outputs:
        if path is None:
            continue
        try:
            write(path)
        except OSError as e:
            unwritten.append(f"cannot write {str(path)!r}: {e.strerror or e}")
    return unwritten
