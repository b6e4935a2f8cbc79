"""`report.html`: one self-contained file. The summary and a table of contents first, then
the same tables as report.md, the state graphs and the counterexample timelines of failing
checks, every picture inline (`<svg>` elements): the file alone, copied anywhere, loses
nothing. Large pictures sit in a box that scrolls, with zoom buttons (and Ctrl + wheel,
drag to pan) run by a small inline script; without the script they show at natural size.

Stable hooks for tests and tools: `nav#toc`, `table#summary`, `table#proofs`,
`table#builtins`, `table#mutants`, `table#seeds`, `table#claims` (one `tr[data-claim]` per
claim with a `data-verdict`), `svg.state-graph` (inside `div.zoom`), `section#counterexamples
svg` (one timeline per violating check); every table row has an `id` the contents link to.
"""

from __future__ import annotations

import html
import re

from cache_conformance.report.model import (
    BUILTIN,
    MUTANT,
    SEED,
    CheckRow,
    ProofRow,
    Report,
)

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f0f0f0}
tr:target,td:target{outline:3px solid #f5b400}
.s-CONFORMS,.s-PROVED,.s-HOLDS{color:#1b7f3b;font-weight:600}
.s-VIOLATES,.s-REFUTED{color:#b00020;font-weight:600}
.s-HOLDS-IF{color:#8a6400;font-weight:600}
.s-UNKNOWN,.s-SKIPPED{color:#666;font-weight:600;font-style:italic}
.met{color:#1b7f3b}.unmet{color:#b00020;font-weight:700}
.problems li{color:#b00020}
nav#toc{border:1px solid #ddd;background:#fafafa;padding:.6em 1em;margin:1em 0}
nav#toc h2{margin:.2em 0 .4em;font-size:1.1em}nav#toc ol{margin:0;padding-left:1.4em}
nav#toc li{margin:.25em 0}nav#toc .rows{font-size:12px;line-height:1.7}
nav#toc .rows a{text-decoration:none;margin-right:.7em;white-space:nowrap}
nav#toc .rows a:hover{text-decoration:underline}
details{margin:.5em 0 1em}summary{cursor:pointer}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px}
.zoom{border:1px solid #ccc;margin:.4em 0 1em}
.zoom-bar{display:flex;gap:.4em;align-items:center;padding:.3em .5em;background:#f0f0f0;font-size:12px}
.zoom-bar button{font:inherit;min-width:2.2em;cursor:pointer}.zoom-bar .level{min-width:3.5em;text-align:center}
.zoom-view{overflow:auto;max-height:80vh;background:#fff;cursor:grab}
.zoom-view.dragging{cursor:grabbing}.zoom-view svg{display:block}
.zoom-hint{color:#555;font-size:12px}
"""

# Zoom and pan for every div.zoom: the buttons, Ctrl + wheel around the pointer, drag to
# pan; a link to a picture (or row) inside closed <details> opens them.
_SCRIPT = """
(function(){
function setup(box){
  var view=box.querySelector('.zoom-view'), svg=view.querySelector('svg'), level=box.querySelector('.level');
  if(!svg)return;
  var vb=svg.viewBox&&svg.viewBox.baseVal, w0=svg.getAttribute('width')||'', unit=/pt$/.test(w0)?4/3:1;
  var W=vb&&vb.width?vb.width*unit:parseFloat(w0), H=vb&&vb.height?vb.height*unit:parseFloat(svg.getAttribute('height'));
  var scale=1;
  function set(s,cx,cy){
    var old=scale;scale=Math.max(0.05,Math.min(8,s));
    var fx=(view.scrollLeft+(cx||0))/old, fy=(view.scrollTop+(cy||0))/old;
    svg.style.width=(W*scale)+'px';svg.style.height=(H*scale)+'px';
    view.scrollLeft=fx*scale-(cx||0);view.scrollTop=fy*scale-(cy||0);
    level.textContent=Math.round(scale*100)+'%';
  }
  set(1);
  box.querySelector('.zoom-bar').addEventListener('click',function(e){
    var z=e.target.getAttribute('data-zoom');if(!z)return;
    if(z==='in')set(scale*1.25,view.clientWidth/2,view.clientHeight/2);
    else if(z==='out')set(scale/1.25,view.clientWidth/2,view.clientHeight/2);
    else if(z==='fit')set(Math.min(1,(view.clientWidth-2)/W));
    else set(1);
  });
  view.addEventListener('wheel',function(e){
    if(!e.ctrlKey)return;e.preventDefault();
    var r=view.getBoundingClientRect();set(scale*(e.deltaY<0?1.15:1/1.15),e.clientX-r.left,e.clientY-r.top);
  },{passive:false});
  var drag=null;
  view.addEventListener('mousedown',function(e){drag={x:e.clientX,y:e.clientY,l:view.scrollLeft,t:view.scrollTop};
    view.classList.add('dragging');e.preventDefault();});
  window.addEventListener('mousemove',function(e){if(drag){view.scrollLeft=drag.l-(e.clientX-drag.x);
    view.scrollTop=drag.t-(e.clientY-drag.y);}});
  window.addEventListener('mouseup',function(){drag=null;view.classList.remove('dragging');});
}
function reveal(){
  var id=decodeURIComponent(location.hash.slice(1)), el=id&&document.getElementById(id);
  for(var d=el;d;d=d.parentElement){if(d.tagName==='DETAILS')d.open=true;}
  if(el)el.scrollIntoView();
}
document.querySelectorAll('div.zoom').forEach(setup);
window.addEventListener('hashchange',reveal);reveal();
})();
"""

_ZOOM_HINT = ("Zoom: the buttons, or Ctrl + mouse wheel over the picture; pan: drag it or use the scroll bars. "
              "Hover over a state or an edge for its full text.")


def _e(text: object) -> str:
    return html.escape(str(text))


def _id(text: str) -> str:
    """An HTML id made of `text` (letters, digits, '-', '_')."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")


def _status(status: str, extra: str = "") -> str:
    return f'<span class="s-{_e(status)}">{_e(status)}</span>{_e(extra)}'


_TABLES = {BUILTIN: "builtins", MUTANT: "mutants", SEED: "seeds"}


def _row_id(table_id: str, i: int, row: CheckRow) -> str:
    return _id(f"{table_id}-{i}-{row.name}-{row.result.job.clients}")


def _proof_id(p: ProofRow) -> str:
    return _id(f"proof-{p.protocol}--{p.property}")


def _graph_id(p: ProofRow) -> str:
    return _id(f"graph-{p.protocol}--{p.property}")


def _checks(table_id: str, rows: tuple[CheckRow, ...], with_expected: bool) -> str:
    head = ["subject", "policy", "scenario", "verdict"] + (["expected"] if with_expected else []) + [
        "examples", "seconds", "detail"]
    out = [f'<table id="{table_id}"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        r = row.result
        mark = "" if row.met is None else (' <span class="met">✓</span>' if row.met else ' <span class="unmet">✗</span>')
        detail = (f'<a href="#{_e(_id(r.job.slug))}">timeline below</a>' if r.status == "VIOLATES" else _e(r.reason))
        cells = [f"<code>{_e(row.name)}</code>", _e(r.job.policy), _e(r.job.scenario()),
                 _status(r.status, f" ({r.clause})" if r.clause else "") + mark]
        if with_expected:
            cells.append(_e(row.expected or "-"))
        cells += [str(r.examples), f"{r.seconds:.1f}", detail]
        out.append(f'<tr id="{_row_id(table_id, i, row)}" data-status="{_e(r.status)}">'
                   + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IDS = re.compile(r'\b(id="|url\(#|href="#)([^")]+)')


def _inline_svg(svg: str, prefix: str, cls: str = "") -> str:
    """`svg` (a whole SVG file, or an element) ready to sit in the page: the XML prolog,
    doctype and comments dropped, its ids (and the references to them) prefixed so that many
    pictures on one page do not share ids, `cls` added to its class."""
    m = _SVG.search(_COMMENT.sub("", svg))
    if m is None:
        return ""
    body = _IDS.sub(lambda x: f"{x[1]}{prefix}-{x[2]}", m.group(0))
    if cls:
        tag = _SVG_OPEN.match(body).group(0)  # type: ignore[union-attr]
        new = (tag.replace('class="', f'class="{cls} ', 1) if 'class="' in tag
               else tag.replace("<svg", f'<svg class="{cls}"', 1))
        body = new + body[len(tag):]
    return body


def _zoom(svg: str, label: str) -> str:
    """A picture in a scrolling box with zoom buttons (the hint says how)."""
    return (f'<div class="zoom" role="group" aria-label="{_e(label)}"><div class="zoom-bar">'
            '<button type="button" data-zoom="out" title="zoom out">−</button><span class="level">100%</span>'
            '<button type="button" data-zoom="in" title="zoom in">+</button>'
            '<button type="button" data-zoom="fit" title="fit the width">fit</button>'
            '<button type="button" data-zoom="1" title="natural size">100%</button>'
            f'<span class="zoom-hint">{_e(_ZOOM_HINT)}</span></div>'
            f'<div class="zoom-view">{svg}</div></div>')


def _toc(report: Report) -> str:
    """The table of contents: each section, and under it a link to each row's details."""
    def rows_of(group: str) -> str:
        table = _TABLES[group]
        links = []
        for i, row in enumerate(report.rows(group)):
            r = row.result
            target = _id(r.job.slug) if r.status == "VIOLATES" else _row_id(table, i, row)
            scen = "" if r.job.clients == 1 else f" ×{r.job.clients}"
            links.append(f'<a href="#{target}" class="s-{_e(r.status)}" title="{_e(r.status)}: '
                         f'{_e(r.reason or r.clause or "")}">{_e(row.name)}{scen}</a>')
        return '<div class="rows">' + " ".join(links) + "</div>"

    proofs = " ".join(f'<a href="#{_graph_id(p) if p.graph_svg else _proof_id(p)}" class="s-{_e(p.verdict)}" '
                     f'title="{_e(p.verdict)}">{_e(p.protocol)} / {_e(p.property)}</a>' for p in report.proofs)
    claims = " ".join(f'<a href="#{_id("claim-" + c.claim.id)}" class="s-{_e(c.verdict.status)}" '
                     f'title="{_e(c.verdict.status)}">{_e(c.claim.id)}</a>' for c in report.claims)
    cexs = " ".join(f'<a href="#{_id(row.result.job.slug)}">{_e(row.name)} ({_e(row.result.clause)})</a>'
                   for row in report.violations())
    items = [('<a href="#summary-section">Summary</a>', ""),
             ('<a href="#proofs-section">Proofs</a> and their <a href="#state-graphs">state graphs</a>',
              f'<div class="rows">{proofs}</div>'),
             ('<a href="#builtins-section">Built-in implementations</a> (expected: CONFORMS)', rows_of(BUILTIN)),
             ('<a href="#mutants-section">Mutants</a> (expected: VIOLATES)', rows_of(MUTANT)),
             ('<a href="#seeds-section">Seed ports</a>', rows_of(SEED)),
             ('<a href="#claims-section">Claims</a>', f'<div class="rows">{claims}</div>'),
             ('<a href="#counterexamples">Counterexamples</a> (timelines)', f'<div class="rows">{cexs}</div>')]
    if report.skipped:
        items.insert(1, ('<a href="#skipped">Skipped</a>', ""))
    return ('<nav id="toc"><h2>Contents</h2><p class="rows">Each link goes to a row\'s details: a '
            '<span class="s-CONFORMS">green</span> one kept its promise (CONFORMS, PROVED, HOLDS), a '
            '<span class="s-VIOLATES">red</span> one broke it (VIOLATES, REFUTED), a '
            '<span class="s-HOLDS-IF">brown</span> one holds under conditions, a '
            '<span class="s-UNKNOWN">grey</span> one has no verdict (UNKNOWN, SKIPPED); hover for why.</p><ol>' + "".join(f"<li>{a}{rows}</li>" for a, rows in items)
            + "</ol></nav>")


def render_html(report: Report) -> str:
    """The whole `report.html`, self-contained: every picture is inline."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>cache-conformance report</title>", f"<style>{_CSS}</style>"]
    timeline_css = next((m.group(1) for r in report.checks if r.result.timeline_html
                         for m in [_STYLE.search(r.result.timeline_html)] if m), "")
    if timeline_css:
        # The timelines' own stylesheet, for their inline SVGs only (not the state graphs),
        # scoped by :where() so that its rules keep the specificity they have on the timeline's
        # own page (`text.step-label` still beats `svg text`); body and table rules above win.
        scoped = re.sub(r"(^|[}\n,])\s*svg\b", r"\1:where(#counterexamples) svg", timeline_css)
        parts.append(f"<style>{scoped}{_CSS}</style>")
    parts += ["</head><body>", "<h1>cache-conformance report</h1>",
              (f'<p class="meta">Backend: <b>{_e(report.backend)}</b>. Wall time: <b id="wall">{report.seconds:.1f} s</b>. '
              f"Budget: {_e(report.budget_note)}.</p>"),
              "<p>Every verdict below was computed by this run. This file is self-contained: its pictures "
              "are inside it.</p>",
              '<section id="summary-section"><h2>Summary</h2>',
              '<table id="summary"><thead><tr><th>part</th><th>rows</th><th>as expected</th></tr></thead><tbody>']
    for group, label in ((BUILTIN, "built-ins (CONFORMS)"), (MUTANT, "mutants (VIOLATES)")):
        rows = report.rows(group)
        parts.append(f'<tr><td><a href="#{_TABLES[group]}-section">{label}</a></td><td>{len(rows)}</td>'
                     f"<td>{sum(1 for r in rows if r.met)}</td></tr>")
    settled = sum(1 for p in report.proofs if p.verdict in ("PROVED", "REFUTED"))
    parts.append(f'<tr><td><a href="#proofs-section">proof rows (settled)</a></td><td>{len(report.proofs)}</td>'
                 f"<td>{settled}</td></tr>")
    with_verdict = sum(1 for c in report.claims if c.verdict.status in ("HOLDS", "HOLDS-IF", "REFUTED"))
    parts.append(f'<tr><td><a href="#claims-section">claims (with a verdict)</a></td><td>{len(report.claims)}</td>'
                 f"<td>{with_verdict}</td></tr>")
    parts.append("</tbody></table>")
    problems = report.problems(left_out=False)
    left_out = report.left_out_line()
    if problems or left_out:
        parts.append('<p>Not as expected (exit code 1):</p><ul class="problems">'
                     + "".join(f"<li>{_e(p)}</li>" for p in problems + ([left_out] if left_out else [])) + "</ul>")
    else:
        parts.append(f'<p class="ok">{_e(report.all_as_expected())}</p>')
    parts.append("</section>")
    parts.append(_toc(report))
    if report.skipped:
        parts.append('<h2>Skipped</h2><ul id="skipped">' + "".join(f"<li>{_e(s)}</li>" for s in report.skipped) + "</ul>")
    parts.append('<section id="proofs-section"><h2>Proofs</h2><table id="proofs"><thead><tr><th>protocol</th>'
                 "<th>property</th><th>bounds</th><th>verdict</th><th>engines</th><th>states</th><th>trace</th>"
                 "</tr></thead><tbody>")
    for p in report.proofs:
        engines = "<br>".join(f"{_e(e)}: {_e(v)}, {_e(b)}, {s:.2f} s" for e, v, b, s in p.engines) or _e(p.note)
        trace = f"<pre>{_e(chr(10).join(p.trace))}</pre>" if p.trace else ""
        graph = f' <a href="#{_graph_id(p)}">graph</a>' if p.graph_svg else ""
        parts.append(f'<tr id="{_proof_id(p)}" data-protocol="{_e(p.protocol)}"><td>{_e(p.protocol)}</td>'
                     f"<td>{_e(p.property)}</td><td>{_e(p.scenario)}</td><td>{_status(p.verdict)}</td>"
                     f"<td>{engines}</td><td>{p.states if p.states is not None else '-'}{graph}</td>"
                     f"<td>{trace}</td></tr>")
    parts.append("</tbody></table>")
    parts.append('<h3 id="state-graphs">State graphs</h3><p>Read from the top: the initial state (outlined twice), '
                 "then the states each step reaches. Bad states are filled red; the shortest counterexample is "
                 f"drawn thick red. Click a title to open its picture. {_e(_ZOOM_HINT)}</p>")
    opened = False
    for p in report.proofs:
        if p.graph_svg:
            svg = _inline_svg(p.graph_svg, _graph_id(p), "state-graph")
            # The first picture with a counterexample is open, to show what they look like.
            first = not opened and bool(p.trace)
            opened = opened or first
            parts.append(f'<details id="{_graph_id(p)}"{" open" if first else ""}><summary>{_e(p.protocol)} / '
                         f"{_e(p.property)}: {_e(p.verdict)}, {p.states} states ({_e(p.graph_note)})</summary>"
                         f"{_zoom(svg, f'state graph of {p.protocol} / {p.property}')}</details>")
        else:
            parts.append(f'<p class="graph-skipped">{_e(p.protocol)} / {_e(p.property)}: {_e(p.graph_note)}</p>')
    parts += ["</section>",
              '<section id="builtins-section"><h2>Built-in implementations</h2>',
              _checks("builtins", report.rows(BUILTIN), True), "</section>",
              '<section id="mutants-section"><h2>Mutants</h2>', _checks("mutants", report.rows(MUTANT), True),
              "</section>", '<section id="seeds-section"><h2>Seed ports</h2>',
              _checks("seeds", report.rows(SEED), False), "</section>",
              ('<section id="claims-section"><h2>Claims</h2><table id="claims"><thead><tr><th>claim</th><th>seed</th>'
              "<th>quote</th><th>verdict</th><th>evidence</th></tr></thead><tbody>")]
    for c in report.claims:
        reasons = "<br>".join(_e(r) for r in c.verdict.reasons)
        parts.append(f'<tr data-claim="{_e(c.claim.id)}" data-verdict="{_e(c.verdict.status)}">'
                     f'<td id="{_id("claim-" + c.claim.id)}"><code>{_e(c.claim.id)}</code></td><td>{_e(c.claim.seed_file)}</td>'
                     f"<td>“{_e(c.claim.quote)}”</td><td>{_status(c.verdict.status)}"
                     f"{_e(c.verdict.describe().removeprefix(c.verdict.status))}</td><td>{reasons}</td></tr>")
    parts += ["</tbody></table></section>", '<h2>Counterexamples</h2><section id="counterexamples">',
              "<p>One timeline per violating check: lanes are clients (and workers), time runs to the right; "
              "hover over a bar or a cut label for its full text.</p>"]
    for row in report.violations():
        r = row.result
        slug = _id(r.job.slug)
        svg = _SVG.search(r.timeline_html or "")
        parts.append(f'<article id="{slug}"><h3><code>{_e(row.name)}</code> as {_e(r.job.policy)} '
                     f"({_e(r.job.scenario())}): {_e(r.clause)}</h3><p>{_e(r.reason)}</p>")
        # Each timeline page calls its SVG "timeline"; here there are many on one page.
        inline = svg.group(0).replace('id="timeline"', f'id="timeline-{slug}"', 1) if svg else ""
        parts.append(f'<div class="scroll">{inline}</div>' if svg else "<p>(no timeline)</p>")
        if r.counterexample:
            parts.append(f"<details><summary>runnable counterexample</summary><pre>{_e(r.counterexample)}</pre></details>")
        parts.append("</article>")
    parts += ["</section>", f"<script>{_SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts) + "\n"
