"""The HTML page: self-contained, one SVG lane per client and worker, stable hooks."""

from __future__ import annotations

import re

import attrs

from conformance.timeline import build, render_html, write_html
from model import VIOLATES, Verdict, Violation
from model.events import Crash, Fault, Invoke
from tests.timeline.dom import parse


def _lanes(report) -> set[str]:
    return ({e.client for e in report.history if isinstance(e, Invoke)} | {t[1] for t in report.trace})


def test_racy_page_has_lanes_bars_steps_and_one_violating_bar(racy_report):
    doc = parse(render_html(racy_report))
    lanes = doc.select("g", "lane")
    assert {g.attrs["data-lane"] for g in lanes} == _lanes(racy_report) == {"c0", "c1"}
    invokes = [e for e in racy_report.history if isinstance(e, Invoke)]
    bars = doc.select("rect", "op")
    assert sorted(int(r.attrs["data-op"]) for r in bars) == sorted(e.op for e in invokes)
    for e in invokes:
        (bar,) = doc.select("rect", f"op {e.kind}", data_op=str(e.op))
        assert bar.ancestor("g").attrs["data-lane"] == e.client
    steps = doc.select("line", "step")
    assert sorted(s.text for s in steps) == sorted(f"{st}.{call}({key!r})" for _, _, st, call, key in racy_report.trace)
    for s in steps:
        assert s.attrs["data-store"] in s.classes and s.attrs["data-call"]
    v = racy_report.verdict.violation
    (bad,) = doc.select(cls="violation")
    assert bad.tag == "rect" and bad.attrs["data-op"] == str(v.event.op)
    assert doc.select("dd", "expected")[0].text == v.expected
    assert doc.select("dd", "observed")[0].text == v.observed
    assert doc.select("pre", id="counterexample")[0].text == racy_report.counterexample


def test_concurrent_bars_overlap_in_different_lanes(racy_report):
    doc = parse(render_html(racy_report))
    spans = {lane.attrs["data-lane"]: [(float(r.attrs["x"]), float(r.attrs["x"]) + float(r.attrs["width"]))
                                       for r in lane.select("rect", "op")] for lane in doc.select("g", "lane")}
    assert any(a0 < b1 and b0 < a1 for a0, a1 in spans["c0"] for b0, b1 in spans["c1"])


def test_faults_are_marked_and_an_observation_can_be_the_violation(seq_report):
    doc = parse(render_html(seq_report))
    kinds = [e.kind for e in seq_report.history if isinstance(e, Fault)]
    assert kinds and [g.attrs["data-kind"] for g in doc.select("g", "fault")] == kinds
    for g in doc.select("g", "fault"):
        assert g.select("line") and g.attrs["data-kind"] in g.select("text")[0].text
    # no-phantom is decided by the harness's DB read, not by an operation
    (bad,) = doc.select(cls="violation")
    assert bad.tag == "circle" and "db['k0'] == None" in bad.text
    assert doc.select("li", "violation-event")[0].text == repr(seq_report.verdict.violation.event)


def test_worker_lane_and_crash(worker_report):
    doc = parse(render_html(worker_report))
    (lane,) = doc.select("g", "lane", data_lane="worker0@0")
    assert [s.attrs["data-call"] for s in lane.select("line", "step")] == ["put_many"]
    assert not lane.select("rect", "op")  # a worker's steps are not client operations
    assert not doc.select(cls="violation") and "CONFORMS" in doc.select("h1")[0].text
    crash = Crash(0.0)
    report = attrs.evolve(worker_report, history=(*worker_report.history, crash))
    assert parse(render_html(report)).select("g", "fault crash", data_kind="crash")


def test_end_of_run_violation(seq_report):
    v = Violation("convergence", "k0", "the cached entry equals 'v1'", "the cache holds 'v0'")
    doc = parse(render_html(attrs.evolve(seq_report, verdict=Verdict(VIOLATES, v))))
    (bad,) = doc.select(cls="violation")
    assert bad.tag == "g" and "end" in bad.classes and "end of run" in bad.text
    assert doc.select("dd", "at")[0].text == "the end of the run"


def test_page_is_self_contained(racy_report):
    # The SVG namespace is a name, not a fetch.
    page = render_html(racy_report).replace('xmlns="http://www.w3.org/2000/svg"', "")
    for needle in ("<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"):
        assert needle not in page, needle
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page and "<svg" in page


def test_text_from_the_subject_is_escaped(racy_report):
    evil = "x<script>alert(1)</script>"
    report = attrs.evolve(racy_report, target=evil, counterexample=f"run = Run({evil!r})\n</pre><b>")
    page = render_html(report)
    assert "<script>" not in page and "</pre><b>" not in page
    doc = parse(page)
    assert evil in doc.select("h1")[0].text
    assert doc.select("pre", id="counterexample")[0].text == report.counterexample


def test_write_html(tmp_path, racy_report):
    path = write_html(racy_report, tmp_path / "t.html")
    assert path == tmp_path / "t.html" and path.read_text(encoding="utf-8") == render_html(racy_report)


def test_svg_width_follows_the_number_of_positions(racy_report):
    svg = parse(render_html(racy_report)).select("svg", id="timeline")[0]
    n = len(build(racy_report).slots)
    assert int(svg.attrs["width"]) > n * 40 and re.fullmatch(r"0 0 \d+ \d+", svg.attrs["viewbox"])
