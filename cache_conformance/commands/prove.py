"""`cache-conformance prove`, `explore` and `scenario`: the command line of the proofs.

Exit codes: 0 every row settled (a verdict from each engine, and they agree), 1 otherwise,
2 bad input (one line, `cache-conformance prove: error: ...`, no traceback). `main(argv, stream=...)` runs one of
the three (argv starts with its name) with everything on `stream`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TextIO

from cache_conformance.command import Command, UsageError, dispatch
from cache_conformance.options import JSON, PROPERTY, PROTOCOL

__all__ = ["COMMANDS", "main"]

def _depth(text: str) -> int:
    from proofs.runner import MAX_DEPTH

    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--depth must be an integer, got {text!r}") from None
    if not 1 <= k <= MAX_DEPTH:
        raise argparse.ArgumentTypeError(f"--depth must be between 1 and {MAX_DEPTH}, got {k}")
    return k


def _prove_arguments(prove: argparse.ArgumentParser) -> None:
    from proofs.runner import DEFAULT_DEPTH, ENGINES, MAX_DEPTH

    JSON.add(prove, help="write one JSON object per row and engine")
    prove.add_argument("--depth", type=_depth, default=DEFAULT_DEPTH,
                       help=f"Z3 unrolling bound (1..{MAX_DEPTH}, default {DEFAULT_DEPTH})")
    PROTOCOL.add(prove, help="only rows of this protocol id")
    PROPERTY.add(prove, help="only rows of this property id")
    prove.add_argument("--all", action="store_true",
                       help="every protocol x applicable property on its default scenario")
    prove.add_argument("--engine", choices=ENGINES, help="run one engine only")
    prove.add_argument("--scenarios", type=Path,
                       help="directory to export every REFUTED trace to as a scenario file")


def _explore_arguments(explore: argparse.ArgumentParser) -> None:
    PROTOCOL.add(explore, required=True)
    PROPERTY.add(explore, help="property whose bad states are highlighted")
    out = explore.add_mutually_exclusive_group(required=True)
    out.add_argument("--dot", type=Path)
    out.add_argument("--png", type=Path)
    out.add_argument("--svg", type=Path)


def _scenario_arguments(scen: argparse.ArgumentParser) -> None:
    scen.add_argument("file", type=Path)


def _known(protocol: str | None, prop: str | None) -> None:
    from model.protocols import property_by_id, protocol_by_id

    try:
        if protocol is not None:
            protocol_by_id(protocol)
        if prop is not None:
            property_by_id(prop)
    except KeyError as e:
        raise UsageError(e.args[0]) from None


def _all_rows() -> tuple[Any, ...]:
    from model.protocols import PROPERTIES, PROTOCOLS, Row

    rows = []
    for proto in PROTOCOLS:
        for prop in PROPERTIES:
            if prop.applies(proto.default) is None:
                rows.append(Row(proto.id, prop.id, proto.default))
    return tuple(rows)


def _table(outcomes: list[Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="Protocol proofs: each verdict is about the row's scenario only",
                  caption="* stronger-guarantee row: the property asks for more than the "
                          "protocol's policy promises", show_lines=False)
    for col in ("protocol", "property", "engine", "verdict", "bound", "seconds", "states",
                "expected", "contract"):
        table.add_column(col, justify="right" if col in ("seconds", "states") else "left")
    for o in outcomes:
        for r in o.results:
            states = f"{r.states}" if r.states is not None else (
                f"{len(r.trace)} steps" if r.trace is not None else "-")
            style = {"PROVED": "green", "REFUTED": "yellow"}.get(r.verdict, "red")
            # The refinement check runs on the explicit engine's graph: shown on its line.
            ref = o.refinement.status if o.refinement is not None and r.engine == "explicit" else ""
            prop = r.property + (" *" if o.stronger_guarantee else "")
            table.add_row(r.protocol, prop, r.engine, f"[{style}]{r.verdict}[/]", r.bound,
                          f"{r.seconds:.2f}", states, r.expected or "-", ref)
    console.print(table)


def _details(outcomes: list[Any], console: Any) -> None:
    from proofs.verdict import PROVED, REFUTED, SCOPE

    for o in outcomes:
        first = o.results[0]
        head = f"{first.protocol} / {first.property}: {first.verdict}"
        console.print(f"\n[bold]{head}[/]  scenario: {first.scenario}", highlight=False)
        if first.verdict == PROVED:
            console.print(f"  {SCOPE}", highlight=False)
        if o.stronger_guarantee:
            console.print(f"  stronger guarantee: {o.stronger_guarantee}", highlight=False)
        if o.note:
            console.print(f"  note: {o.note}", highlight=False)
        if o.refinement is not None:
            for line in o.refinement.lines():
                console.print(f"  {line}", highlight=False, markup=False)
        for r in o.results:
            if r.verdict != REFUTED and r.reason:
                console.print(f"  {r.engine}: {r.reason}", highlight=False)
        trace = next((r.trace for r in o.results if r.trace is not None), None)
        if trace is not None:
            for line in trace.lines():
                console.print(f"    {line}", highlight=False, markup=False)


def _prove(args: argparse.Namespace, stream: IO[str]) -> int:
    from rich.console import Console

    from model.protocols import property_by_id, rows_for
    from proofs.runner import ENGINES, run_rows
    from proofs.scenario import write

    _known(args.protocol, args.property)
    if args.all:
        rows = tuple(r for r in _all_rows()
                     if args.protocol in (None, r.protocol) and args.property in (None, r.property))
    else:
        rows = rows_for(args.protocol, args.property)
        if rows and args.protocol and args.property:
            reason = property_by_id(args.property).applies(rows[0].scenario)
            if reason:
                raise UsageError(f"{args.property} does not apply to {args.protocol}'s scenario: {reason}")
    if not rows:
        raise UsageError("no row matches; give both --protocol and --property for a row outside the table")
    engines = (args.engine,) if args.engine else ENGINES
    outcomes = run_rows(rows, args.depth, engines)
    console = Console(file=stream, width=160, force_terminal=False, color_system=None)
    _table(outcomes, console)
    _details(outcomes, console)
    if args.scenarios is not None:
        for o in outcomes:
            trace = next((r.trace for r in o.results if r.trace is not None), None)
            if trace is not None:
                console.print(f"scenario: {write(trace, args.scenarios)}", highlight=False)
    if args.json_path is not None:
        payload = [r.to_json() | o.to_json() for o in outcomes for r in o.results]
        Path(args.json_path).write_text(json.dumps(payload, indent=2) + "\n")
    settled = all(o.settled for o in outcomes)
    total = sum(r.seconds for o in outcomes for r in o.results) + sum(
        o.refinement.seconds for o in outcomes if o.refinement is not None)
    gaps = sum(1 for o in outcomes if o.refinement is not None and o.refinement.status == "known gap")
    console.print(f"\n{len(outcomes)} rows, {total:.1f} s; "
                  + ("every row settled: the engines agree, and the contract with them"
                     + (f" ({gaps} known gap{'s' if gaps != 1 else ''} of the refinement check)"
                        if gaps else "") if settled
                     else "NOT settled: " + "; ".join(
                         f"{o.row.protocol}/{o.row.property}: {o.note or 'UNKNOWN'}"
                         for o in outcomes if not o.settled)), highlight=False)
    return 0 if settled else 1


def _explore(args: argparse.Namespace, stream: IO[str]) -> int:
    from model.protocols import (
        PROPERTIES,
        build,
        property_by_id,
        protocol_by_id,
        rows_for,
    )
    from proofs import explicit
    from proofs.graph import render, to_dot

    _known(args.protocol, args.property)
    rows = rows_for(args.protocol, args.property) if args.property else rows_for(args.protocol)
    row = rows[0] if rows else None
    proto = protocol_by_id(args.protocol)
    scenario = row.scenario if row else proto.default
    prop = property_by_id(args.property or (row.property if row else PROPERTIES[0].id))
    system = build(proto, scenario)
    ex = explicit.explore(system)
    dot = to_dot(ex, prop)
    if args.dot is not None:
        args.dot.write_text(dot)
        target = args.dot
    else:
        fmt, target = ("png", args.png) if args.png is not None else ("svg", args.svg)
        render(dot, target, fmt)
    stream.write(f"{proto.id} / {prop.id}: {ex.graph.number_of_nodes()} states, "
                 f"{ex.graph.number_of_edges()} edges -> {target}\n")
    return 0


def _scenario(args: argparse.Namespace, stream: IO[str]) -> int:
    from proofs.scenario import load

    data = load(args.file)
    stream.write(f"{args.file}: valid {data['policy']} scenario, {len(data['schedule'])} steps, "
                 f"{len(data['faults'])} faults, expects {data['expect']['clause']}\n")
    return 0


def _one_line_errors(run: Callable[[argparse.Namespace, IO[str]], int]) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    """`run` as a Command's run: a scenario file that does not parse, Graphviz missing,
    a path that cannot be written are usage errors (one line, exit 2)."""

    def command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        from proofs.graph import RenderError
        from proofs.scenario import ScenarioError

        try:
            return run(args, out)
        except (ScenarioError, RenderError) as e:
            raise UsageError(str(e)) from None
        except OSError as e:  # an unwritable --json / --dot path, a missing directory
            raise UsageError(f"{e.filename or ''}: {e.strerror or e}") from None

    return command


COMMANDS = (
    Command("prove", "prove the protocol models' properties (see proofs/)", _one_line_errors(_prove),
            arguments=_prove_arguments,
            description="Settle the protocol x property table with both engines."),
    Command("explore", "explore one protocol model's state graph (see proofs/)", _one_line_errors(_explore),
            arguments=_explore_arguments, description="Draw a protocol's state graph."),
    Command("scenario", "validate a proof scenario file", _one_line_errors(_scenario),
            arguments=_scenario_arguments, description="Validate a scenario file."),
)


def main(argv: list[str], *, stream: TextIO = sys.stdout) -> int:
    """Run `cache-conformance prove|explore|scenario ...` (argv starts with the name) with
    its output and its errors on `stream`."""
    return dispatch(COMMANDS, argv, stdout=stream, stderr=stream)
