"""The offline check of a recorded history: the same contract and monitor as `check`, fed
from a file; on VIOLATES, a 1-minimal failing sub-history of the violating key.

    result = check_file(Path("h.jsonl"), "write-through")
    print(result.render())           # verdict, clause, the line, the counterexample's lines
    result.report                    # a conformance.CheckReport: --json, --html, timelines

Four readings of the file at most: `scan` (definite failures, call order), the check
itself (streamed into `model.check_history`: memory grows with the operations open at once
and the values that can still be read, not with the file), one up to the violation for
the monitor to word it (or to fall back to the search), and, on VIOLATES, one more up to the
violating event that keeps only the violating key's events and the global ones (faults,
crashes, flushes, the clock), at most `keep` of them, for delta debugging and the HTML
timeline.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
from attrs import frozen

from model import CONFORMS, UNKNOWN, VIOLATES, Contract, Verdict, check_history, policy
from model.monitor import DEFAULT_STATE_LIMIT
from model.events import CacheObserved, DbObserved, Event, Fail, Fault, Invoke, Ok

from conformance import CheckReport
from conformance.histories import schema
from conformance.histories.shrink import Budget, ddmin
from conformance.histories.source import HistorySource

__all__ = ["Counterexample", "HistoryCheck", "check_file", "DEFAULT_STALENESS", "KEEP"]

#: The contract's default bounded-staleness bound (seconds), when neither the command
#: line nor the file's meta line gives one.
DEFAULT_STALENESS: float = attrs.fields(Contract).staleness_bound.default
#: At most this many events of the violating key are kept for the counterexample search
#: and the HTML timeline (the last ones before the violation).
KEEP = 200_000

Item = tuple[int, int, int, Event]  # (stream index, line, unit, event)


@frozen(kw_only=True)
class Counterexample:
    """A failing sub-history of one key.

    Attributes:
        key: the violating key.
        events: the sub-history, in file order.
        lines: the file's lines it comes from.
        jsonl: the sub-history as schema-1 JSON Lines, a meta line first: a file
            `check-history` reads back to the same clause.
        operations: operations in it; of_operations: the key's operations searched;
            others: the other events in it (faults, crashes, observations, the clock).
        minimal: leaving out any one operation or event of it makes the key conform or
            break another clause (checked); False when the budget of checks ran out first.
        checks: histories checked to find it.
        report: the sub-history with its own verdict, for the text timeline.
    """

    key: str
    events: tuple[Event, ...]
    lines: tuple[int, ...]
    jsonl: str
    operations: int
    of_operations: int
    others: int
    minimal: bool
    checks: int
    report: CheckReport


@frozen(kw_only=True)
class HistoryCheck:
    """The outcome of checking one history file.

    Attributes:
        report: verdict and evidence as `check` reports them; its `history` is the
            violating key's events up to the violation (the HTML timeline draws the window
            around it), its `counterexample` the sub-history's JSON Lines.
        format: the file's format.
        events, operations, keys: what the check read.
        line: the line of the violating event; line_text: that line as written.
        counterexample: the failing sub-history, on VIOLATES.
        notes: what the reader should know (skipped nemesis ops, sorted operations...).
    """

    report: CheckReport
    format: str
    events: int
    operations: int
    keys: int
    line: int | None = None
    line_text: str | None = None
    counterexample: Counterexample | None = None
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return self.report.verdict.status

    def to_json(self) -> dict[str, Any]:
        out = self.report.to_json()
        del out["examples"], out["steps"], out["seed"]
        cx = self.counterexample
        out.update({
            "format": self.format, "events": self.events, "operations": self.operations, "keys": self.keys,
            "line": self.line,
            "counterexample_lines": list(cx.lines) if cx else None,
            "counterexample_minimal": cx.minimal if cx else None,
            "notes": list(self.notes),
        })
        return out

    def render(self) -> str:
        r = self.report
        v = r.verdict.violation
        out = [f"{r.verdict.status}: {r.target} as {r.policy} ({self.format}: {self.events:,} events, "
               f"{self.operations:,} operations, {self.keys:,} key{'s' if self.keys != 1 else ''}; {r.seconds:.2f} s)"]
        if v is not None:
            out += v.report_lines()
            if self.line is not None:
                out.append(f"at line {self.line}: {self.line_text}")
        if r.verdict.reason:
            out.append(f"reason: {r.verdict.reason}")
        out += [f"note: {n}" for n in self.notes]
        cx = self.counterexample
        if cx is not None:
            ops = f"{cx.operations} of its {cx.of_operations:,} operation{'s' if cx.of_operations != 1 else ''}"
            if cx.others:
                ops += f" and {cx.others} other event{'s' if cx.others != 1 else ''}"
            claim = ("1-minimal: leaving out any one of its operations or events makes the key conform or break "
                     "another clause" if cx.minimal else
                     f"reduced, NOT shown 1-minimal: the budget of checks ran out after {cx.checks}")
            shown = ", ".join(map(str, cx.lines[:40])) + (", …" if len(cx.lines) > 40 else "")
            out += ["", f"counterexample: a failing sub-history of key {cx.key!r}, {ops} ({claim});",
                    f"from lines {shown}:", "", cx.jsonl]
        return "\n".join(out)


class _Tap:
    """Counts what flows into the monitor and remembers the last event."""

    def __init__(self, src: HistorySource):
        self.src = src
        self.index = -1
        self.line: int | None = None
        self.event: Event | None = None
        self.operations = 0
        self.keys: set[str] = set()

    def __iter__(self) -> Iterator[Event]:
        for line, _, e in self.src.items():
            self.index += 1
            self.line, self.event = line, e
            if isinstance(e, Invoke):
                self.operations += 1
                if e.key is not None:
                    self.keys.add(e.key)
            yield e


def check_file(path: Path, policy_name: str, *, fmt: str | None = None, name: str | None = None,
               staleness: float | None = None, budget: Budget | None = None, keep: int = KEEP,
               limit: int = DEFAULT_STATE_LIMIT) -> HistoryCheck:
    """Check the history at `path` against `policy_name`'s contract.

    Args:
        fmt: jsonl, edn or porcupine; None: sniffed.
        name: the file as the user named it (messages, the report's target).
        staleness: the bounded-staleness bound; None: the file's meta line's, else the
            contract's default.
        budget: what delta debugging may spend.
        keep: the most events of the violating key kept for it.
        limit: the monitor's explanation limit per key (past it: UNKNOWN, with the reason).

    Raises:
        HistoryError: the file cannot be read, or a line is malformed.
        UnknownPolicy: no such policy.
    """
    started = time.perf_counter()
    pol = policy(policy_name)
    src = HistorySource(path, fmt, name)
    src.scan()
    meta = src.meta
    notes: list[str] = []
    if meta.policy is not None and meta.policy != pol.name:
        notes.append(f"the file was recorded checking {meta.policy}; checked here as {pol.name}")
    bound = staleness if staleness is not None else meta.staleness
    contract = Contract(pol, staleness_bound=bound if bound is not None else DEFAULT_STALENESS,
                        durable=meta.durable)
    tap = _Tap(src)
    # The file read again, only on a violation or a fall-back to the search: the
    # monitor then keeps no per-key log (memory: model/monitor.py).
    verdict = check_history(contract, tap, meta.initial or None, limit,
                            replay=lambda: (e for _, _, e in src.items()))
    events = tap.index + 1
    notes = src.summary() + notes
    if verdict.status == CONFORMS and src.cas:
        verdict = Verdict(UNKNOWN, reason=(
            f"linearizable with each of the {src.cas} applied or indeterminate cas operations split into a read of "
            "its `from` and a write of its `to` over the same interval; whether each can be atomic is not decided "
            "(cas is not an operation of the contract, and with repeated values the search is NP-complete)"))
    elif verdict.status == VIOLATES and src.cas:
        notes.append(f"{src.cas} cas operations were each split into a read and a write: a violation of the split "
                     "history is one of the atomic history too")
    about = (f"a recorded history ({src.format}: {events:,} events, {tap.operations:,} operations), checked offline"
             + ("; the timeline draws the violating key's events and the global ones (faults, crashes, flushes, "
                "clock)" if verdict.status == VIOLATES else ""))
    report = CheckReport(target=src.name, policy=pol.name, verdict=verdict, examples=0, steps=0,
                         seconds=0.0, note="; ".join([about, *notes]))
    line = line_text = cx = None
    v = verdict.violation
    if verdict.status == VIOLATES and v is not None:
        at = tap.index if tap.event is v.event else None
        if v.key is not None:
            items = _collect(src, v.key, at, v.event, keep)
            if items:
                line = items[-1][1]
                history = tuple(e for _, _, _, e in items)
                report = attrs.evolve(report, history=history,
                                      verdict=attrs.evolve(verdict, violation=attrs.evolve(v, event=history[-1])))
                cx = _counterexample(items, contract, meta, v.key, v.clause, src.name, budget)
                if cx is not None:
                    report = attrs.evolve(report, counterexample=cx.jsonl)
                else:
                    notes.append(f"no counterexample: the last {len(items):,} events of key {v.key!r} and the "
                                 "global ones do not break the clause on their own")
        if line is None and at is not None:
            line = tap.line
        if line is not None:
            line_text = src.line_text(line)
    report = attrs.evolve(report, seconds=time.perf_counter() - started)
    return HistoryCheck(report=report, format=src.format, events=events, operations=tap.operations,
                        keys=len(tap.keys), line=line, line_text=line_text, counterexample=cx, notes=tuple(notes))


def _collect(src: HistorySource, key: str, at: int | None, bad: Event | None, keep: int) -> list[Item]:
    """The events of `key` and the global ones, up to the violating event (the `at`-th of
    the stream, or the first equal to `bad`), the last `keep` of them."""
    buf: deque[Item] = deque(maxlen=keep)
    mine: set[int] = set()
    found = False
    for i, (line, unit, e) in enumerate(src.items()):
        if isinstance(e, Invoke):
            ours = e.key == key or e.key is None
            if ours:
                mine.add(e.op)
        elif isinstance(e, (Ok, Fail)):
            ours = e.op in mine
            mine.discard(e.op)
        elif isinstance(e, (DbObserved, CacheObserved)):
            ours = e.key == key
        elif isinstance(e, Fault):
            ours = e.key is None or e.key == key
        else:
            ours = True  # crash, clock
        if ours:
            buf.append((i, line, unit, e))
        if i == at or (at is None and e == bad):
            found = ours
            break
    if not found:
        return []
    items = list(buf)
    if len(items) == keep:
        # The oldest events fell off: drop the completions whose invocation did.
        invoked = {e.op for _, _, _, e in items if isinstance(e, Invoke)}
        items = [it for it in items if not isinstance(it[3], (Ok, Fail)) or it[3].op in invoked]
    return items


def _counterexample(items: list[Item], contract: Contract, meta: schema.Meta, key: str, clause: str,
                    target: str, budget: Budget | None) -> Counterexample | None:
    initial = {key: meta.initial[key]} if meta.initial.get(key) is not None else None
    groups: dict[int, list[tuple[int, int, Event]]] = {}
    for i, line, unit, e in items:
        groups.setdefault(unit, []).append((i, line, e))
    units = list(groups.values())

    def history(chosen: Any) -> list[Event]:
        return [e for _, _, e in sorted((x for u in chosen for x in u), key=lambda x: x[0])]

    def fails(chosen: Any) -> bool:
        v = check_history(contract, history(chosen), initial)
        return v.status == VIOLATES and v.violation is not None and v.violation.clause == clause \
            and v.violation.key == key

    if not fails(units):
        return None  # the key's own events do not break the clause alone: nothing to show
    shrunk = ddmin(units, fails, budget)
    events = tuple(history(shrunk.units))
    verdict = check_history(contract, events, initial)
    lines = tuple(sorted({line for u in shrunk.units for _, line, _ in u}))
    staleness = contract.staleness_bound if contract.staleness_bound != DEFAULT_STALENESS else None
    jsonl = "\n".join([schema.meta_line(contract.policy.name, initial, staleness, meta.durable),
                       *schema.lines(events)])
    n_ops = sum(1 for u in shrunk.units if isinstance(u[0][2], Invoke))
    of = sum(1 for u in units if isinstance(u[0][2], Invoke))
    sub = CheckReport(target=target, policy=contract.policy.name, verdict=verdict, examples=1, steps=len(events),
                      seconds=0.0, counterexample=jsonl, history=events)
    return Counterexample(key=key, events=events, lines=lines, jsonl=jsonl, operations=n_ops, of_operations=of,
                          others=len(shrunk.units) - n_ops,
                          minimal=shrunk.minimal, checks=shrunk.checks, report=sub)
