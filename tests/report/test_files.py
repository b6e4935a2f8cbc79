"""A report on a small budget: both files, their sections and tables, the pictures and
timelines they link to, and the exit code of a partial report."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cache_conformance.claims import load_register
from implementations.mutants.catalog import MUTANTS

# One worker runs the module, so the small report (a session fixture) is built once for it.
pytestmark = pytest.mark.xdist_group("small-report")

SECTIONS = ("## Summary", "## Proofs", "## Built-in implementations", "## Mutants", "## Seed ports",
            "## Claims", "## Counterexamples")


def test_both_files_are_written_with_every_section(small_report: tuple[Path, int, str]) -> None:
    out, code, text = small_report
    md = (out / "report.md").read_text()
    for title in SECTIONS:
        assert f"\n{title}\n" in md, title
    html = (out / "report.html").read_text()
    for table in ("summary", "proofs", "builtins", "mutants", "seeds", "claims"):
        assert f'<table id="{table}">' in html, table
    assert "report.md" in text and "report.html" in text


def test_a_partial_report_exits_1_and_says_why(small_report: tuple[Path, int, str]) -> None:
    out, code, text = small_report
    assert code == 1
    assert "not as expected:" in text and "not selected" in (out / "report.md").read_text()


def test_rows_carry_the_verdicts_of_this_run(small_report: tuple[Path, int, str]) -> None:
    md = small_report[0].joinpath("report.md").read_text()
    rows = {line.split("|")[1].strip() + " " + line.split("|")[3].strip(): line
            for line in md.splitlines() if line.startswith("| `")}
    assert "CONFORMS ✓" in rows["`memory:write_through` sequential"]
    assert "VIOLATES (durable-on-ack) ✓" in rows["`write_through_swallows_db_error` sequential"]
    assert "UNKNOWN ✗" in rows["`write_through_cache_first` sequential"]  # not selected: never a pass
    assert "VIOLATES" in rows["`seeds.dual_ledger:cache_first` sequential"]
    assert sum(1 for line in md.splitlines() if line.startswith("| `") and "mutants" not in line) >= len(MUTANTS)


def test_every_claim_has_a_row_with_a_status(small_report: tuple[Path, int, str]) -> None:
    html = small_report[0].joinpath("report.html").read_text()
    found = dict(re.findall(r'<tr data-claim="([^"]+)" data-verdict="([^"]+)">', html))
    assert set(found) == {c.id for c in load_register()}
    assert set(found.values()) <= {"HOLDS", "HOLDS-IF", "REFUTED", "UNKNOWN", "SKIPPED"}


def test_progress_is_one_plain_line_per_step_and_ends_at_its_total(small_report: tuple[Path, int, str]) -> None:
    text = small_report[2]
    steps = re.findall(r"^report: \[ *(\d+)/(\d+)\] ", text, re.M)
    assert steps, text
    totals = {int(total) for _, total in steps}
    assert len(totals) == 1 and [int(n) for n, _ in steps] == list(range(1, totals.pop() + 1))


def test_the_rows_left_out_by_only_are_one_line(small_report: tuple[Path, int, str]) -> None:
    text = small_report[2]
    problems = [line for line in text.splitlines() if line.startswith("report: not as expected: ")]
    (left_out,) = [p for p in problems if "left out by --only" in p]
    assert "built-in (10)" in left_out and "UNKNOWN" in left_out
    assert not [p for p in problems if p is not left_out and "UNKNOWN" in p]  # none of them one by one
    table = text[text.index("┏"):text.index("report: wrote")]
    assert "10 not selected" in table and "(sequential): UNKNOWN" not in table  # counted, not listed


def test_report_html_alone_loses_nothing(small_report: tuple[Path, int, str], tmp_path: Path) -> None:
    out = small_report[0]
    alone = tmp_path / "report.html"
    shutil.copy(out / "report.html", alone)  # copied elsewhere, without graphs/ and timelines/
    html = alone.read_text()
    assert not re.findall(r'\s(?:src|href)="(?!#)[^"]*"', html)  # no link to another file
    assert "<img" not in html and "<link" not in html
    graphs = sorted((out / "graphs").glob("*.svg"))
    violations = len(re.findall(r'<article id="', html))
    assert violations >= 2 and html.count("<svg") == len(graphs) + violations
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # many inline pictures, still one element per id
    for target in set(re.findall(r'href="#([^"]+)"', html)):  # every link of the contents lands
        assert target in ids, target


def test_the_contents_come_first_and_link_every_row(small_report: tuple[Path, int, str]) -> None:
    html = small_report[0].joinpath("report.html").read_text()
    toc = html[html.index('<nav id="toc">'):html.index("</nav>")]
    assert html.index('<table id="summary">') < html.index('<nav id="toc">') < html.index('<table id="proofs">')
    rows = len(re.findall(r'<tr id="', html)) + html.count("<tr data-claim=")  # checks, proofs; claims
    assert len(re.findall(r'<a href="#', toc)) >= rows > 80
    for section in ("summary-section", "proofs-section", "state-graphs", "builtins-section", "mutants-section",
                    "seeds-section", "claims-section", "counterexamples"):
        assert f'href="#{section}"' in toc, section


def test_large_state_graphs_sit_in_a_zoom_box_that_says_how_to_zoom(small_report: tuple[Path, int, str]) -> None:
    html = small_report[0].joinpath("report.html").read_text()
    boxes = re.findall(r'<div class="zoom".*?<div class="zoom-view"><svg class="state-graph', html, re.S)
    assert boxes and len(boxes) == html.count('class="state-graph')
    assert all('data-zoom="in"' in b and 'data-zoom="out"' in b and "Ctrl + mouse wheel" in b for b in boxes)


def test_violations_link_a_timeline_page_and_embed_its_svg(small_report: tuple[Path, int, str]) -> None:
    out = small_report[0]
    md = (out / "report.md").read_text()
    links = re.findall(r"\]\((timelines/[^)]+\.html)\)", md)
    assert links and all((out / link).is_file() for link in links)
    html = (out / "report.html").read_text()
    counterexamples = html[html.index('<section id="counterexamples">'):]
    assert counterexamples.count("<svg") >= 2  # the mutant and the seed port


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed: apt-get install -y graphviz")
def test_state_graphs_are_drawn_and_linked(small_report: tuple[Path, int, str]) -> None:
    out = small_report[0]
    graphs = sorted((out / "graphs").glob("*.svg"))
    assert graphs and all(g.read_text().lstrip().startswith("<?xml") or "<svg" in g.read_text() for g in graphs)
    html = (out / "report.html").read_text()
    assert html.count('class="state-graph"') == len(graphs)
