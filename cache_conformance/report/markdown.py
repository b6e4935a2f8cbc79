"""`report.md`, and the README section "What the seeds get wrong".

    text = render_markdown(report)
    section = render_seeds_section(load_register(), {"000-wt-always-in-sync": "REFUTED", ...})

The README section depends only on the register and on one status per claim, so a test can
regenerate it from the register and the statuses the README shows, and a full run can
check those statuses (`cache-conformance report --update-readme` rewrites it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from cache_conformance.claims import HOLDS_IF, Claim
from cache_conformance.report.model import (
    BUILTIN,
    MUTANT,
    SEED,
    CheckResult,
    CheckRow,
    Report,
)

__all__ = [
    "SECTION_TITLE",
    "conditions_of",
    "readme_statuses",
    "render_markdown",
    "render_seeds_section",
    "replace_readme_section",
    "timeline_file",
    "write_timelines",
]

SECTION_TITLE = "## What the seeds get wrong"
_SEED_TITLES = {
    "000": "Write-Through vs Write-Behind Caching: When Every Millisecond Counts",
    "001": "POC #62: Write-Through vs Write-Behind Caching",
    "002": "Write-Through vs Write-Back Caching: Consistency, Performance, and Trade-Offs",
    "003": "Write-Through Cache: The Art of Writing Everywhere at Once",
    "004": "Write-Through vs Write-Back",
}


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def timeline_file(result: CheckResult) -> str:
    """Where a violating check's timeline page is written, relative to the report."""
    return f"timelines/{result.job.slug}.html"


def _status(r: CheckResult) -> str:
    return f"{r.status} ({r.clause})" if r.clause else r.status


def _checks_table(rows: tuple[CheckRow, ...], with_expected: bool) -> list[str]:
    head = "| subject | policy | scenario | verdict | expected | examples | seconds | detail |"
    out = [head, "|---|---|---|---|---|---|---|---|"] if with_expected else [
        "| subject | policy | scenario | verdict | examples | seconds | detail |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        r = row.result
        detail = r.reason if r.status != "VIOLATES" else f"[timeline]({timeline_file(r)})"
        if row.clauses and r.status == "VIOLATES" and r.clause not in row.clauses:
            detail += f"; catalog clause {', '.join(row.clauses)}"
        mark = "" if row.met is None else (" ✓" if row.met else " ✗")
        cells = [f"`{row.name}`", r.job.policy, r.job.scenario(), _status(r) + mark]
        if with_expected:
            cells.append(row.expected or "-")
        cells += [str(r.examples), f"{r.seconds:.1f}", _cell(detail)]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _summary(report: Report) -> list[str]:
    out = ["| part | rows | as expected | other |", "|---|---|---|---|"]
    for group in (BUILTIN, MUTANT):
        rows = report.rows(group)
        ok = sum(1 for r in rows if r.met)
        out.append(f"| {group}s | {len(rows)} | {ok} | {len(rows) - ok} |")
    seeds = report.rows(SEED)
    counts: dict[str, int] = {}
    for r in seeds:
        counts[r.result.status] = counts.get(r.result.status, 0) + 1
    out.append(f"| seed ports | {len(seeds)} | - | " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + " |")
    settled = sum(1 for p in report.proofs if p.verdict in ("PROVED", "REFUTED"))
    out.append(f"| proofs | {len(report.proofs)} | {settled} settled | {len(report.proofs) - settled} |")
    verdicts: dict[str, int] = {}
    for c in report.claims:
        verdicts[c.verdict.status] = verdicts.get(c.verdict.status, 0) + 1
    out.append(f"| claims | {len(report.claims)} | - | " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())) + " |")
    return out


def render_markdown(report: Report) -> str:
    """The whole `report.md`."""
    problems = report.problems()
    out = ["# cache-conformance report", "",
           f"Backend: **{report.backend}**. Wall time: **{report.seconds:.1f} s**. Budget: {report.budget_note}.", "",
           "Every verdict below was computed by this run: the proofs, the checks and the benchmarks ran now.", ""]
    out += ["## Summary", ""] + _summary(report) + [""]
    if problems:
        out += ["Not everything is as expected (exit code 1):", ""] + [f"* {p}" for p in problems] + [""]
    else:
        out += [report.all_as_expected(), ""]
    if report.skipped:
        out += ["## Skipped", ""] + [f"* {s}" for s in report.skipped] + [""]
    out += ["## Proofs", "", "| protocol | property | bounds | verdict | engines | states | graph |",
            "|---|---|---|---|---|---|---|"]
    for p in report.proofs:
        engines = "; ".join(f"{e}: {v}, {b}, {s:.2f} s" for e, v, b, s in p.engines) or p.note
        graph = f"[svg]({p.graph})" if p.graph else p.graph_note
        out.append(f"| {p.protocol} | {p.property} | {_cell(p.scenario)} | {p.verdict} | {_cell(engines)} | "
                   f"{p.states if p.states is not None else '-'} | {_cell(graph)} |")
    out.append("")
    for p in report.proofs:
        if p.trace:
            out += [f"**{p.protocol} / {p.property}** ({p.verdict}), shortest trace:", "", "```"]
            out += list(p.trace) + ["```", ""]
    out += ["## Built-in implementations", "", "Expected: CONFORMS, sequentially and with two clients.", ""]
    out += _checks_table(report.rows(BUILTIN), True) + [""]
    out += ["## Mutants", "", "Expected: VIOLATES (each is a correct implementation with one step broken).", ""]
    out += _checks_table(report.rows(MUTANT), True) + [""]
    out += ["## Seed ports", "", ("Each port checked against the policy its seed presents it as; the claims below "
            "say which behaviour the seed promised."), ""]
    out += _checks_table(report.rows(SEED), False) + [""]
    out += ["## Claims", "", "| claim | seed | quote | verdict | evidence |", "|---|---|---|---|---|"]
    for c in report.claims:
        reasons = "<br>".join(_cell(r) for r in c.verdict.reasons)
        out.append(f"| `{c.claim.id}` | {c.claim.seed_file} | {_cell(c.claim.quote)} | "
                   f"**{_cell(c.verdict.describe())}** | {reasons} |")
    out.append("")
    out += ["## Counterexamples", ""]
    for row in report.violations():
        r = row.result
        out += [f"### `{row.name}` as {r.job.policy} ({r.job.scenario()}): {r.clause}", "",
                _cell(r.reason), "", f"[HTML timeline]({timeline_file(r)})", ""]
        if r.timeline_text:
            out += ["```", r.timeline_text, "```", ""]
        if r.counterexample:
            out += ["```python", r.counterexample, "```", ""]
    return "\n".join(out) + "\n"


def conditions_of(claim: Claim) -> tuple[str, ...]:
    """The conditions of a HOLDS-IF verdict: those of the claim's condition items (the rule
    only gives HOLDS-IF when every one of them is for the claim)."""
    return tuple(dict.fromkeys(e.condition for e in claim.evidence if e.scope == "condition"))


def render_seeds_section(claims: tuple[Claim, ...], statuses: Mapping[str, str]) -> str:
    """The README section, from the register and one verdict status per claim id.

    Only claims that are REFUTED or HOLDS-IF are listed (what the seeds get wrong); the
    rest are counted.
    """
    out = [SECTION_TITLE, "",
           ("Generated from the claims register (`cache_conformance/claims/register.toml`) and the verdicts of a "
           "`cache-conformance report` run; regenerate with `cache-conformance report --update-readme`. "
           "The full evidence (counterexamples, proof traces, timelines) is in the report."), ""]
    wrong = [c for c in claims if statuses.get(c.id) in ("REFUTED", HOLDS_IF)]
    for seed in sorted({c.seed for c in claims}):
        mine = [c for c in wrong if c.seed == seed]
        if not mine:
            continue
        file = next(c.seed_file for c in claims if c.seed == seed)
        out += [f"### {seed} — {_SEED_TITLES.get(seed, file)}", "", "| claim | verdict | why |", "|---|---|---|"]
        for c in mine:
            status = statuses[c.id]
            verdict = f"{status} ({'; '.join(conditions_of(c))})" if status == HOLDS_IF else status
            why = c.note or "; ".join(e.item.describe() for e in c.evidence if e.scope == "claim")
            out.append(f"| `{c.id}`: “{_cell(c.quote)}” | **{_cell(verdict)}** | {_cell(why)} |")
        out.append("")
    holds = [c.id for c in claims if statuses.get(c.id) == "HOLDS"]
    open_ = [c.id for c in claims if statuses.get(c.id) not in ("HOLDS", "REFUTED", HOLDS_IF)]
    out.append("Hold as stated: " + (", ".join(f"`{i}`" for i in holds) or "none") + ".")
    if open_:
        out += ["", "No verdict in that run: "
                + ", ".join(f"`{i}` ({statuses.get(i, 'not evaluated')})" for i in open_) + "."]
    return "\n".join(out) + "\n"


_ROW = re.compile(r"^\| `(?P<id>[^`]+)`: .*? \| \*\*(?P<status>HOLDS-IF|REFUTED)")
_ID = re.compile(r"`(?P<id>[^`]+)`(?: \((?P<status>[^)]+)\))?")


def readme_statuses(readme: str) -> dict[str, str] | None:
    """The verdict status of each claim in the README's section, or None without it."""
    start = readme.find(SECTION_TITLE)
    if start < 0:
        return None
    nxt = readme.find("\n## ", start + len(SECTION_TITLE))
    out: dict[str, str] = {}
    for line in readme[start:None if nxt < 0 else nxt].splitlines():
        if m := _ROW.match(line):
            out[m["id"]] = m["status"]
        elif line.startswith("Hold as stated: "):
            out.update({m["id"]: "HOLDS" for m in _ID.finditer(line)})
        elif line.startswith("No verdict in that run: "):
            out.update({m["id"]: m["status"] for m in _ID.finditer(line)})
    return out


def replace_readme_section(readme: str, section: str) -> str:
    """The README with the section replaced (or added at the end): it runs from its title
    to the next level-2 title or the end of the file."""
    start = readme.find(SECTION_TITLE)
    if start < 0:
        return readme.rstrip("\n") + "\n\n" + section
    nxt = readme.find("\n## ", start + len(SECTION_TITLE))
    end = len(readme) if nxt < 0 else nxt + 1
    return readme[:start] + section + ("\n" + readme[end:] if nxt >= 0 else "")


def write_timelines(report: Report, out_dir: Path) -> list[Path]:
    """Write each violating check's timeline page; returns the paths."""
    written: dict[Path, None] = {}
    for row in report.checks:
        r = row.result
        path = out_dir / timeline_file(r)
        if r.timeline_html and path not in written:  # a check shared by two rows is one page
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(r.timeline_html, encoding="utf-8")
            written[path] = None
    return list(written)
