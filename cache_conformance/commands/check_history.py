"""`cache-conformance check-history FILE --policy P`: check a history recorded elsewhere.

FILE is this project's JSON Lines (schema 1, what `check --record` writes), a Jepsen EDN
register history, or Porcupine's operations as JSON (docs/HISTORY.md); `-` reads stdin
(spooled to a temporary file: the check reads it more than once). The verdicts, clauses
and exit codes are `check`'s: 0 CONFORMS, 1 VIOLATES or UNKNOWN, 2 a usage error or a
file that cannot be read (one line on stderr, with the line number where there is one).
On VIOLATES it prints a 1-minimal failing sub-history of the violating key, as JSON
Lines, and its timeline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from cache_conformance.command import Command, UsageError
from cache_conformance.options import JSON, JUNIT, check_writable, write_files

__all__ = ["COMMANDS"]

FORMATS = ("jsonl", "edn", "porcupine")


def arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("file", metavar="FILE", help="the history; - reads stdin")
    c.add_argument("--policy", required=True,
                   help="write-through, write-behind (write-back), write-around, cache-aside, read-through")
    c.add_argument("--format", dest="fmt", choices=FORMATS, default=None,
                   help="jsonl (this project's schema), edn (Jepsen), porcupine (JSON operations); default: sniffed")
    c.add_argument("--staleness", type=float, default=None,
                   help="bounded-staleness bound in seconds (default: the file's meta line, else 300)")
    JSON.add(c, help="write the result as JSON here")
    JUNIT.add(c, help="write the verdict as JUnit XML here (one testcase: VIOLATES a <failure>, "
                      "UNKNOWN an <error>)")
    c.add_argument("--html", dest="html_path", default=None, metavar="PATH",
                   help="write a self-contained HTML timeline of the violating key around the violation here")
    c.add_argument("--no-timeline", action="store_true", help="do not print the counterexample's text timeline")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from cache_conformance.junit import write_junit
    from conformance.histories.errors import HistoryError
    from conformance.timeline import write_html
    from model import UnknownPolicy, policy

    json_path = Path(args.json_path) if args.json_path else None
    html_path = Path(args.html_path) if args.html_path else None
    junit_path = Path(args.junit_path) if args.junit_path else None
    for path in (json_path, html_path, junit_path):
        if path is not None:
            check_writable(path)
    try:
        policy(args.policy)
    except UnknownPolicy as e:
        raise UsageError(str(e)) from None
    if args.staleness is not None and not args.staleness >= 0:
        raise UsageError(f"--staleness must be a non-negative number of seconds, got {args.staleness}")
    from conformance.histories.check import check_file
    from conformance.histories.source import spool

    stdin = args.file == "-"
    name = "<stdin>" if stdin else args.file
    try:
        path = spool(sys.stdin) if stdin else Path(args.file)
    except OSError as e:
        raise UsageError(f"cannot read stdin: {e.strerror or e}") from None
    try:
        result = check_file(path, args.policy, fmt=args.fmt, name=name, staleness=args.staleness)
    except HistoryError as e:
        raise UsageError(str(e.at(name) if e.source is None else e)) from None
    finally:
        if stdin:
            path.unlink(missing_ok=True)
    unwritten = write_files((
        (json_path, lambda p: p.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")),
        (html_path, lambda p: write_html(result.report, p)),
        (junit_path, lambda p: write_junit([result.report], p, suite="cache-conformance check-history",
                                             outputs=[result.render()])),
    ))
    code = 0 if result.status == "CONFORMS" else 1
    try:
        print(result.render(), file=out)
        shown = result.counterexample.report if result.counterexample is not None else None
        if shown is not None and not args.no_timeline:
            from conformance.timeline import render_text

            print("\ntimeline of the counterexample:\n" + render_text(shown, color=out.isatty()), file=out)
    except BrokenPipeError:
        pass  # `... | head`: the verdict is the exit code
    if unwritten:
        raise UsageError("; ".join(unwritten))
    return code


COMMANDS = (Command("check-history", "check a recorded history (JSON Lines, Jepsen EDN, Porcupine) against a policy",
                    run, arguments=arguments),)
