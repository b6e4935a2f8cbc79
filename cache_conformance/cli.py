"""`cache-conformance`: check, policies, prove, explore, scenario, report, bench.

`main(argv, stdout=, stderr=) -> int` so tests inject everything. Exit codes: 0 CONFORMS /
success, 1 VIOLATES or UNKNOWN, 2 usage error or a subject that cannot be built (one line
on stderr, never a traceback).

The subcommands are a registry: `MODULES` lists the modules under
`cache_conformance/commands/`, each of which defines its `COMMANDS`
(`cache_conformance.command.Command`: name, help, arguments, run). Adding a subcommand is
adding a module there and its name here; options several subcommands share are in
`cache_conformance.options`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from cache_conformance.command import Command, dispatch
from cache_conformance.commands import bench, check, check_history, policies, prove, report

__all__ = ["COMMANDS", "MODULES", "entrypoint", "main"]

#: The subcommand modules, in the order `cache-conformance --help` lists their commands.
MODULES = (check, check_history, policies, prove, report, bench)

COMMANDS: tuple[Command, ...] = tuple(command for module in MODULES for command in module.COMMANDS)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        return dispatch(COMMANDS, sys.argv[1:] if argv is None else argv, stdout=out, stderr=err,
                        description="Check cache implementations against their write policy.")
    except KeyboardInterrupt:
        print("cache-conformance: interrupted", file=err)
        return 130


def entrypoint() -> None:
    """The console script: like main(), and the process exits even if a subject left
    non-daemon threads behind."""
    try:
        code = main()
    except BrokenPipeError:
        # `... | head` closed the pipe before the subcommand finished printing (`check`
        # handles it itself, keeping its verdict as the exit code): what a process killed
        # by SIGPIPE would report.
        code = 128 + 13
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
