"""Benchmarks of the proof engines (figures for docs/PROOFS.md and the README).

``python benchmarks/proof_engines.py`` prints:

* the wall time of every required row on both engines together (target: <= 60 s);
* the explicit engine's throughput, in reachable states per second (graph built
  included; target: >= 50,000), on scenarios large enough for the rate to be measured
  rather than start-up cost.

These are measurements, not tests: nothing here asserts a time.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from model.protocols import REQUIRED, build, make_scenario, protocol_by_id
from model.protocols.system import INITIAL, Faults
from proofs import explicit
from proofs.runner import DEFAULT_DEPTH, run_rows

__all__ = ["THROUGHPUT_SCENARIOS", "required_rows", "throughput", "main"]

#: Larger bounds than the table's, only to measure the explicit engine's rate.
THROUGHPUT_SCENARIOS = (
    ("ca-lease", make_scenario({"c0": ["read", "read"], "c1": ["read"], "c2": ["write"],
                                "c3": ["write"]})),
    ("wt-versioned", make_scenario({"c0": ["read"], "c1": ["write", "read"], "c2": ["write"],
                                    "c3": ["write"]}, Faults(db_down=1), INITIAL)),
    ("wb-durable", make_scenario({"c0": ["write", "write", "write"], "c1": ["flush", "flush"],
                                  "c2": ["read"]}, Faults(db_down=1, crash=1))),
)


def required_rows(depth: int = DEFAULT_DEPTH) -> tuple[float, list[tuple[str, int | None]]]:
    """Seconds for every required row on both engines; (row, explicit states) per row."""
    start = time.perf_counter()
    outcomes = run_rows(REQUIRED, depth)
    seconds = time.perf_counter() - start
    return seconds, [
        (f"{o.row.protocol}/{o.row.property}", o.results[0].states) for o in outcomes
    ]


def throughput() -> list[tuple[str, int, int, float]]:
    """(protocol, states, edges, seconds) of a full exploration of each large scenario."""
    out = []
    for pid, scenario in THROUGHPUT_SCENARIOS:
        system = build(protocol_by_id(pid), scenario)
        ex = explicit.explore(system)
        out.append((pid, ex.graph.number_of_nodes(), ex.graph.number_of_edges(), ex.seconds))
    return out


def main(stream: IO[str] = sys.stdout) -> int:
    seconds, rows = required_rows()
    stream.write(f"required rows, both engines: {len(rows)} rows in {seconds:.2f} s\n")
    for name, states in rows:
        stream.write(f"  {name}: {states} states\n")
    total_states = total_seconds = 0.0
    for pid, states, edges, secs in throughput():
        total_states += states
        total_seconds += secs
        stream.write(
            f"explicit {pid}: {states} states, {edges} edges in {secs:.2f} s = "
            f"{states / secs:,.0f} states/s\n"
        )
    stream.write(f"explicit overall: {total_states / total_seconds:,.0f} states/s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
