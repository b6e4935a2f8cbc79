"""End to end: draw whatever `run_check` reports for a sequential and a two-client bug."""

from __future__ import annotations

import pytest

from conformance import run_check
from conformance.timeline import build, render_html, render_text
from model import VIOLATES
from tests.timeline.conftest import RACY
from tests.timeline.dom import parse


@pytest.mark.parametrize("target, clients", [
    ("tests.conformance.subjects:cache_first", 1),
    (RACY, 2),
])
def test_run_check_counterexample_is_drawn(target, clients):
    report = run_check(target, "write-through", clients=clients)
    assert report.verdict.status == VIOLATES, report.render()
    tl = build(report)
    assert tl.violating_slot is not None
    if report.verdict.violation.event is not None:
        assert report.history[tl.violating_event] is report.verdict.violation.event
    text = render_text(report)
    assert text.count("<< VIOLATION") == 1 and f"observed: {report.verdict.violation.observed}" in text
    doc = parse(render_html(report))
    assert {g.attrs["data-lane"] for g in doc.select("g", "lane")} == set(tl.lanes)
    assert len(doc.select(cls="violation")) == 1
    assert len(doc.select("line", "step")) == len(report.trace)
    if clients == 2:
        assert {"c0", "c1"} <= set(tl.lanes)
