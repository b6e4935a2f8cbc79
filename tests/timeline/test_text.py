"""The terminal timeline: one column per client and worker, read without colour."""

from __future__ import annotations

import re

import attrs

from conformance.timeline import build, render_text
from model import VIOLATES, Verdict, Violation
from model.events import DbObserved, Fault, Invoke

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _rows(text: str) -> tuple[str, dict[int, str]]:
    """The header line and the table rows by position."""
    lines = text.splitlines()
    rows = {}
    for line in lines[1:]:
        m = re.match(r"\s*(\d+) ", line)
        if not m or not line.strip():
            break
        rows[int(m.group(1))] = line
    return lines[0], rows


def test_sequential_text_shows_every_operation_fault_and_the_violation(seq_report):
    text = render_text(seq_report)
    header, rows = _rows(text)
    tl = build(seq_report)
    assert tl.lanes == ("c0",) and " c0 " in header
    for e in seq_report.history:
        if isinstance(e, Invoke):
            assert any(f"┌ {e.kind}(" in r for r in rows.values()), e
        if isinstance(e, Fault):
            # drawn across the lanes, not in one column
            assert any(f" fault {e.kind}" in r and "═" in r for r in rows.values()), e
    v = seq_report.verdict.violation
    marked = [x for x, r in rows.items() if "<< VIOLATION" in r]
    assert marked == [tl.violating_slot]
    assert tl.violating_event is not None and seq_report.history[tl.violating_event] is v.event
    assert f"  expected: {v.expected}" in text.splitlines()
    assert f"  observed: {v.observed}" in text.splitlines()


def test_concurrent_text_has_a_column_per_client_and_overlapping_bars(racy_report):
    text = render_text(racy_report)
    header, rows = _rows(text)
    tl = build(racy_report)
    assert set(tl.lanes) == {"c0", "c1"}
    cols = {lane: header.index(f" {lane} ") + 1 for lane in tl.lanes}
    both = [x for x in range(len(tl.slots))
            if all(any(o.lane == lane and o.start <= x and (o.end is None or x <= o.end) for o in tl.ops)
                   for lane in tl.lanes)]
    assert both, "a two-client counterexample has operations in flight at the same time"
    for x in both:
        for lane, col in cols.items():
            assert rows[x][col] in "┌└├│┏┗┃", (lane, rows[x])


def test_steps_sit_inside_their_operation(racy_report, seq_report):
    for report in (racy_report, seq_report):
        tl = build(report)
        steps = [s for s in tl.slots if s.kind == "step"]
        assert len(steps) == len(report.trace)
        for s in steps:
            lane = s.step[1]
            assert any(o.lane == lane and o.start < s.x and (o.end is None or s.x < o.end) for o in tl.ops), s


def test_worker_gets_its_own_column(worker_report):
    tl = build(worker_report)
    assert tl.lanes == ("c0", "c1", "worker0@0")
    header, rows = _rows(render_text(worker_report))
    col = header.index("worker0@0")
    worker_rows = [r for r in rows.values() if r[col:].startswith("• db.put_many('k0')")]
    assert len(worker_rows) == 1
    assert "no violation to show" in render_text(worker_report)


def test_colour_only_decorates(racy_report):
    plain = render_text(racy_report)
    coloured = render_text(racy_report, color=True)
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain


def test_end_of_run_violation_is_marked_after_the_last_event(seq_report):
    v = Violation("convergence", "k0", "the cached entry equals 'v1'", "the cache holds 'v0'")
    report = attrs.evolve(seq_report, verdict=Verdict(VIOLATES, v))
    tl = build(report)
    assert tl.slots[-1].kind == "end" and tl.violating_slot == tl.slots[-1].x and tl.violating_event is None
    text = render_text(report)
    assert "end of run  << VIOLATION: convergence" in text
    assert "VIOLATION of convergence on key 'k0' at the end of the run" in text


def test_an_equal_copy_of_the_event_finds_the_last_equal_observation(worker_report):
    history = worker_report.history
    target = max(i for i, e in enumerate(history) if e == DbObserved("k0", "v2", history[i].time))
    copy = attrs.evolve(history[target])
    assert copy is not history[target]
    report = attrs.evolve(worker_report, verdict=Verdict(VIOLATES, Violation("no-regression", "k0", "a", "b", copy)))
    assert build(report).violating_event == target


def test_an_operation_without_response_stays_open(worker_report):
    cut = next(i for i, e in enumerate(worker_report.history) if isinstance(e, Invoke) and e.kind == "flush")
    report = attrs.evolve(worker_report, history=worker_report.history[: cut + 1],
                          trace=tuple(t for t in worker_report.trace if t[0] <= cut + 1))
    tl = build(report)
    flush = [o for o in tl.ops if o.kind == "flush"]
    assert [o.outcome for o in flush] == ["open"] and flush[0].end is None
    assert "no response" in flush[0].response


def test_empty_history(seq_report):
    assert render_text(attrs.evolve(seq_report, history=(), trace=())) == "timeline: no history was recorded"
