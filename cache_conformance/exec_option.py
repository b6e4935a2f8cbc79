"""`check --exec COMMAND`: the subject is a process in any language that speaks the subject
protocol (docs/PROTOCOL.md), instead of a Python `module:factory`.

`add(parser)` adds the option (and makes the positional target optional); `exec_target`
turns it into the target the check runs: the process is started (and says hello) before
the check, outside the per-operation timeout, and every process it started is killed when
the check ends. When the verdict is not CONFORMS, the tail of the subject's stderr is
printed after the report.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from cache_conformance.command import UsageError

__all__ = ["add", "exec_target", "after_check", "EXEC_TIMEOUT", "TIMEOUT", "STDERR_LINES"]

#: --timeout's default without --exec, and with it: a process answers through a pipe, from a
#: runtime that may pause (a JVM collecting garbage), on a machine that may be loaded.
TIMEOUT = 2.0
EXEC_TIMEOUT = 10.0
#: Lines of the subject's stderr printed after a verdict that is not CONFORMS.
STDERR_LINES = 20


def add(parser: argparse.ArgumentParser) -> None:
    """--exec COMMAND. The subcommand's positional target must be optional (one of the two
    is needed) and its --timeout default None (`exec_target` decides: 2 s, 10 s with --exec)."""
    from conformance.exec import DEFAULT_START_TIMEOUT

    parser.add_argument(
        "--exec", dest="exec_command", default=None, metavar="COMMAND",
        help="check a subject process in any language instead of a Python target: COMMAND (split like a "
             "shell would, not run by one) must speak the subject protocol, newline-delimited JSON on "
             "stdin/stdout (docs/PROTOCOL.md; libraries in clients/). The process is started before the "
             f"check and must say hello within {DEFAULT_START_TIMEOUT:g} s; it is reused from example to "
             "example and restarted at every crash (a spare is kept started), one per --instances; each "
             f"operation must be answered within --timeout, which defaults to {EXEC_TIMEOUT:g} s with --exec "
             "(a slower answer is a liveness violation). Nothing it started outlives the check.")


@contextmanager
def exec_target(args: argparse.Namespace) -> Iterator[Any]:
    """Within: `args.target` is the exec factory (or the Python target as given) and
    `args.timeout` is set; yields the factory, or None without --exec.

    Raises:
        UsageError: neither or both of a target and --exec.
        conformance.UsageError: the process cannot start or fails the handshake.
    """
    command = getattr(args, "exec_command", None)
    if command is None:
        if getattr(args, "target", None) is None:
            raise UsageError("check needs a target (module:factory or path/to/file.py:factory) or --exec COMMAND")
        if args.timeout is None:
            args.timeout = TIMEOUT
        yield None
        return
    if args.target is not None:
        raise UsageError(f"give a target or --exec, not both (got {args.target!r} and --exec {command!r})")
    if args.timeout is None:
        args.timeout = EXEC_TIMEOUT
    from conformance.exec import exec_factory

    factory = exec_factory(command)
    args.target = factory
    try:
        yield factory
    finally:
        factory.close()


def after_check(factory: Any, code: int, out: TextIO) -> None:
    """After a verdict that is not CONFORMS, the last lines of the subject's stderr."""
    if factory is None or code == 0:
        return
    lines = [ln for ln in factory.stderr().splitlines() if ln.strip()][-STDERR_LINES:]
    if lines:
        try:
            print(f"\nthe subject's stderr (last {len(lines)} lines):", file=out)
            for ln in lines:
                print(f"  {ln[:300]}", file=out)
        except BrokenPipeError:
            pass
