"""`report.html`: the same tables as report.md, the state graphs, and the counterexample
timelines of failing checks inline.

Stable hooks for tests and tools: `table#summary`, `table#proofs`, `table#builtins`,
`table#mutants`, `table#seeds`, `table#claims` (one `tr[data-claim]` per claim with a
`data-verdict`), `img.state-graph`, `section#counterexamples svg` (one timeline per
violating check).
"""

from __future__ import annotations

import html
import re

from cache_conformance.report.markdown import timeline_file
from cache_conformance.report.model import BUILTIN, MUTANT, SEED, CheckRow, Report

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f0f0f0}
.s-CONFORMS,.s-PROVED,.s-HOLDS{color:#1b7f3b;font-weight:600}
.s-VIOLATES,.s-REFUTED{color:#b00020;font-weight:600}
.s-HOLDS-IF{color:#8a6400;font-weight:600}
.s-UNKNOWN,.s-SKIPPED{color:#666;font-weight:600;font-style:italic}
.met{color:#1b7f3b}.unmet{color:#b00020;font-weight:700}
.problems li{color:#b00020}
img.state-graph{max-width:100%;border:1px solid #ddd;margin:.5em 0}
details{margin:.5em 0 1em}summary{cursor:pointer}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px}
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _status(status: str, extra: str = "") -> str:
    return f'<span class="s-{_e(status)}">{_e(status)}</span>{_e(extra)}'


def _checks(table_id: str, rows: tuple[CheckRow, ...], with_expected: bool) -> str:
    head = ["subject", "policy", "scenario", "verdict"] + (["expected"] if with_expected else []) + [
        "examples", "seconds", "detail"]
    out = [f'<table id="{table_id}"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        r = row.result
        mark = "" if row.met is None else (' <span class="met">✓</span>' if row.met else ' <span class="unmet">✗</span>')
        detail = (f'<a href="#{_e(r.job.slug)}">timeline</a> · <a href="{_e(timeline_file(r))}">page</a>'
                  if r.status == "VIOLATES" else _e(r.reason))
        cells = [f"<code>{_e(row.name)}</code>", _e(r.job.policy), _e(r.job.scenario()),
                 _status(r.status, f" ({r.clause})" if r.clause else "") + mark]
        if with_expected:
            cells.append(_e(row.expected or "-"))
        cells += [str(r.examples), f"{r.seconds:.1f}", detail]
        out.append(f'<tr data-status="{_e(r.status)}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def render_html(report: Report) -> str:
    """The whole `report.html` (pictures are referenced relative to it)."""
    problems = report.problems()
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>cache-conformance report</title>", f"<style>{_CSS}</style>"]
    timeline_css = next((m.group(1) for r in report.checks if r.result.timeline_html
                         for m in [_STYLE.search(r.result.timeline_html)] if m), "")
    if timeline_css:
        # The timelines' own stylesheet, for their inline SVGs; body and table rules above win.
        parts.append(f"<style>{timeline_css}{_CSS}</style>")
    parts += ["</head><body>", "<h1>cache-conformance report</h1>",
              (f'<p class="meta">Backend: <b>{_e(report.backend)}</b>. Wall time: <b id="wall">{report.seconds:.1f} s</b>. '
              f"Budget: {_e(report.budget_note)}.</p>"),
              "<p>Every verdict below was computed by this run.</p>", "<h2>Summary</h2>",
              '<table id="summary"><thead><tr><th>part</th><th>rows</th><th>as expected</th></tr></thead><tbody>']
    for group, label in ((BUILTIN, "built-ins (CONFORMS)"), (MUTANT, "mutants (VIOLATES)")):
        rows = report.rows(group)
        parts.append(f"<tr><td>{label}</td><td>{len(rows)}</td><td>{sum(1 for r in rows if r.met)}</td></tr>")
    settled = sum(1 for p in report.proofs if p.verdict in ("PROVED", "REFUTED"))
    parts.append(f"<tr><td>proof rows (settled)</td><td>{len(report.proofs)}</td><td>{settled}</td></tr>")
    with_verdict = sum(1 for c in report.claims if c.verdict.status in ("HOLDS", "HOLDS-IF", "REFUTED"))
    parts.append(f"<tr><td>claims (with a verdict)</td><td>{len(report.claims)}</td><td>{with_verdict}</td></tr>")
    parts.append("</tbody></table>")
    if problems:
        parts.append('<p>Not as expected (exit code 1):</p><ul class="problems">'
                     + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>")
    else:
        parts.append(f'<p class="ok">{_e(report.all_as_expected())}</p>')
    if report.skipped:
        parts.append('<h2>Skipped</h2><ul id="skipped">' + "".join(f"<li>{_e(s)}</li>" for s in report.skipped) + "</ul>")
    parts.append('<h2>Proofs</h2><table id="proofs"><thead><tr><th>protocol</th><th>property</th><th>bounds</th>'
                 "<th>verdict</th><th>engines</th><th>states</th><th>trace</th></tr></thead><tbody>")
    for p in report.proofs:
        engines = "<br>".join(f"{_e(e)}: {_e(v)}, {_e(b)}, {s:.2f} s" for e, v, b, s in p.engines) or _e(p.note)
        trace = f"<pre>{_e(chr(10).join(p.trace))}</pre>" if p.trace else ""
        parts.append(f'<tr data-protocol="{_e(p.protocol)}"><td>{_e(p.protocol)}</td><td>{_e(p.property)}</td>'
                     f"<td>{_e(p.scenario)}</td><td>{_status(p.verdict)}</td><td>{engines}</td>"
                     f"<td>{p.states if p.states is not None else '-'}</td><td>{trace}</td></tr>")
    parts.append("</tbody></table>")
    parts.append('<h3>State graphs</h3><p>Bad states are filled red; the shortest counterexample is drawn thick red.</p>')
    for p in report.proofs:
        if p.graph:
            parts.append(f"<details><summary>{_e(p.protocol)} / {_e(p.property)}: {_e(p.verdict)}</summary>"
                         f'<img class="state-graph" src="{_e(p.graph)}" alt="state graph of {_e(p.protocol)}"></details>')
        else:
            parts.append(f'<p class="graph-skipped">{_e(p.protocol)} / {_e(p.property)}: {_e(p.graph_note)}</p>')
    parts += ["<h2>Built-in implementations</h2>", _checks("builtins", report.rows(BUILTIN), True),
              "<h2>Mutants</h2>", _checks("mutants", report.rows(MUTANT), True),
              "<h2>Seed ports</h2>", _checks("seeds", report.rows(SEED), False),
              ('<h2>Claims</h2><table id="claims"><thead><tr><th>claim</th><th>seed</th><th>quote</th>'
              "<th>verdict</th><th>evidence</th></tr></thead><tbody>")]
    for c in report.claims:
        reasons = "<br>".join(_e(r) for r in c.verdict.reasons)
        parts.append(f'<tr data-claim="{_e(c.claim.id)}" data-verdict="{_e(c.verdict.status)}">'
                     f"<td><code>{_e(c.claim.id)}</code></td><td>{_e(c.claim.seed_file)}</td>"
                     f"<td>“{_e(c.claim.quote)}”</td><td>{_status(c.verdict.status)}"
                     f"{_e(c.verdict.describe().removeprefix(c.verdict.status))}</td><td>{reasons}</td></tr>")
    parts += ["</tbody></table>", '<h2>Counterexamples</h2><section id="counterexamples">']
    for row in report.violations():
        r = row.result
        svg = _SVG.search(r.timeline_html or "")
        parts.append(f'<article id="{_e(r.job.slug)}"><h3><code>{_e(row.name)}</code> as {_e(r.job.policy)} '
                     f"({_e(r.job.scenario())}): {_e(r.clause)}</h3><p>{_e(r.reason)}</p>")
        # Each timeline page calls its SVG "timeline"; here there are many on one page.
        inline = svg.group(0).replace('id="timeline"', f'id="timeline-{_e(r.job.slug)}"', 1) if svg else ""
        parts.append(f'<div class="scroll">{inline}</div>' if svg else "<p>(no timeline)</p>")
        if r.counterexample:
            parts.append(f"<details><summary>runnable counterexample</summary><pre>{_e(r.counterexample)}</pre></details>")
        parts.append("</article>")
    parts += ["</section>", "</body></html>"]
    return "\n".join(parts) + "\n"
