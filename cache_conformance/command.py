"""A subcommand of `cache-conformance`, and the dispatcher that parses a command line into
one of them and runs it.

A subcommand is data: its name, its help, how to add its arguments to its parser, and
`run(args, stdout, stderr) -> int`. The dispatcher owns the rest: one parser for all of
them, and usage errors as one line on stderr with exit code 2, never a traceback. Every
usage error, whether argparse refused the command line or the command's `run` raised
`UsageError`, reads as argparse itself words it: `cache-conformance check: error: ...`
(`cache-conformance: error: ...` before a subcommand is known).

    def run(args, stdout, stderr):
        print("hello", args.name, file=stdout)
        return 0

    COMMAND = Command("hello", "greet someone", run,
                      arguments=lambda parser: parser.add_argument("name"))

The registry of subcommands is `cache_conformance.cli.MODULES`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

import attrs

__all__ = ["ERROR_LINE", "ONE_LINE", "Command", "Errors", "UsageError", "dispatch"]


class UsageError(Exception):
    """Bad input from the user: one clear line, exit code 2. A command's `run` raises it;
    the dispatcher prints it with the one prefix every subcommand shares."""


#: The one format of a usage error: argparse's own (`prog: error: message`), so that a line
#: argparse refuses and a line a command's `run` refuses read alike. `{prog}` is
#: "cache-conformance NAME" (just "cache-conformance" before a subcommand is known).
ERROR_LINE = "{prog}: error: {message}"


@attrs.frozen
class Errors:
    """How a command's usage errors read: `{prog}` and `{message}` are filled in.

    Every subcommand uses the default, `ERROR_LINE`, for both. The class stays so that a
    command written against it keeps working; a different format breaks the one-prefix
    rule (tests/conformance/test_cli_consistency.py checks every registered subcommand).

    Args:
        parse: a command line argparse refuses.
        usage: a `UsageError` the command's `run` raised.
    """

    parse: str = ERROR_LINE
    usage: str = ERROR_LINE


ONE_LINE = Errors()


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    pass


@attrs.frozen
class Command:
    """One subcommand.

    Args:
        name: the word after `cache-conformance`.
        help: one line, listed by `cache-conformance --help`.
        run: `run(args, stdout, stderr) -> int`, the exit code; raises `UsageError` for
            bad input found after parsing.
        arguments: adds the subcommand's options to its parser (shared ones from
            `cache_conformance.options`). Called only when the command line names this
            subcommand, so it may import what its options need (the proofs' engines).
        description: shown by `cache-conformance NAME --help` above the options.
        errors: how its usage errors read.
    """

    name: str
    help: str
    run: Callable[[argparse.Namespace, TextIO, TextIO], int]
    arguments: Callable[[argparse.ArgumentParser], Any] = _no_arguments
    description: str | None = None
    errors: Errors = ONE_LINE


class _Refused(Exception):
    """argparse refused the command line; the message is already formatted."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, errors: Errors = ONE_LINE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors = errors

    def error(self, message: str) -> NoReturn:  # argparse would print the usage and exit
        raise _Refused(self.errors.parse.format(prog=self.prog, message=message))


def dispatch(commands: Sequence[Command], argv: Sequence[str], *, stdout: TextIO, stderr: TextIO,
             errors: Errors = ONE_LINE, description: str | None = None) -> int:
    """Parse `argv` (a subcommand's name first) and run that subcommand of `commands`.

    Returns its exit code; 2 after one line on `stderr` for a usage error, or after the
    help on `stdout` when no subcommand is named. `--help` exits (SystemExit) as argparse does.

    Args:
        errors: how usage errors read before a subcommand is known (an unknown name).
    """
    argv = list(argv)
    parser = _Parser(prog="cache-conformance", description=description, errors=errors)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    named = next((word for word in argv if not word.startswith("-")), None)
    by_name = {}
    parsers = {}
    for command in commands:
        by_name[command.name] = command
        p = parsers[command.name] = sub.add_parser(command.name, help=command.help,
                                                   description=command.description, errors=command.errors)
        if command.name == named:
            command.arguments(p)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            # argparse would refuse these from the top parser ("cache-conformance: error:"):
            # they belong to the subcommand, so its parser words the line.
            owner = parsers.get(args.command, parser) if args.command else parser
            owner.error(f"unrecognized arguments: {' '.join(extra)}")
    except _Refused as e:
        print(e, file=stderr)
        return 2
    if args.command is None:
        parser.print_help(stdout)
        return 2
    command = by_name[args.command]
    try:
        return command.run(args, stdout, stderr)
    except UsageError as e:
        print(command.errors.usage.format(prog=f"{parser.prog} {command.name}", message=e), file=stderr)
        return 2
