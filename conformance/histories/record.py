"""`check --record FILE`: the history of a check's reported run as schema-1 JSON Lines, so
that a history recorded here is checked anywhere (and by `check-history` here) again.

The meta line carries the policy, and the run's staleness bound and initial DB values
where the report knows them: given on the command line, or named by the counterexample
script's `Run(...)` line (a run that conforms has none: a subject's own `fill_ttl` is then
not known to the report, and `check-history` uses its default, 300 s, unless told
`--staleness`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.histories import schema

__all__ = ["record", "run_options"]


def run_options(report: Any) -> dict[str, Any]:
    """The options of the report's `Run(...)` line (staleness, initial), if it has one."""
    text = getattr(report, "counterexample", None)
    if not text or "Run(" not in text:
        return {}
    from conformance.script import ScriptError, parse

    try:
        return dict(parse(text, "the counterexample")["header"].get("kwargs", {}))
    except (ScriptError, KeyError, TypeError):
        return {}


def record(report: Any, path: str | Path, *, staleness: float | None = None) -> Path:
    """Write `report.history` to `path` as schema-1 JSON Lines, a meta line first."""
    options = run_options(report)
    bound = staleness if staleness is not None else options.get("staleness")
    initial = options.get("initial")
    p = Path(path)
    with open(p, "w", encoding="utf-8") as fh:
        fh.write(schema.meta_line(report.policy, initial if isinstance(initial, dict) else None,
                                  float(bound) if isinstance(bound, (int, float)) else None) + "\n")
        for line in schema.lines(report.history):
            fh.write(line + "\n")
    return p
