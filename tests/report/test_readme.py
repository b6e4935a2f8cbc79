"""README.md's section "What the seeds get wrong" is generated: regenerating it from the
register and the verdicts it shows gives the same text (fast), and a default report of the
claims' evidence gives the same verdicts (slow). Regenerate with `cache-conformance report --update-readme`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cache_conformance.claims import Check, load_register
from cache_conformance.commands.report import README_PATH, main
from cache_conformance.report import readme_statuses, render_seeds_section, replace_readme_section
from cache_conformance.report.markdown import SECTION_TITLE

HOW = "regenerate it with `cache-conformance report --update-readme`"


def _section(readme: str) -> str:
    start = readme.index(SECTION_TITLE)
    nxt = readme.find("\n## ", start + len(SECTION_TITLE))
    return readme[start:] if nxt < 0 else readme[start:nxt + 1]


def test_the_readme_section_matches_the_register() -> None:
    readme = README_PATH.read_text(encoding="utf-8")
    statuses = readme_statuses(readme)
    assert statuses is not None, f"README.md has no section {SECTION_TITLE!r}: {HOW}"
    claims = load_register()
    assert set(statuses) == {c.id for c in claims}, f"the register changed: {HOW}"
    assert _section(readme) == render_seeds_section(claims, statuses), f"the section is out of date: {HOW}"


def test_a_changed_verdict_changes_the_section() -> None:
    claims = load_register()
    before = {c.id: "HOLDS" for c in claims}
    after = dict(before, **{claims[0].id: "REFUTED"})
    old, new = render_seeds_section(claims, before), render_seeds_section(claims, after)
    assert old != new and claims[0].quote.split()[0] in new
    assert readme_statuses(new) == after and readme_statuses(old) == before


def test_replacing_the_section_keeps_the_rest_of_the_readme() -> None:
    claims = load_register()
    section = render_seeds_section(claims, {c.id: "REFUTED" for c in claims})
    text = "# title\n\nintro\n"
    once = replace_readme_section(text, section)
    assert once.startswith(text) and once.endswith(section)
    assert replace_readme_section(once, section) == once
    middle = replace_readme_section(text + "\n" + SECTION_TITLE + "\n\nOBSOLETE-TEXT\n\n## Later\n\nkept\n", section)
    assert "OBSOLETE-TEXT" not in middle and middle.endswith("## Later\n\nkept\n") and section in middle


@pytest.mark.slow
def test_the_claims_evidence_in_a_default_report_gives_the_readme_verdicts(tmp_path: Path) -> None:
    stream = io.StringIO()
    # The report of the claims only (--claims: the checks their evidence names, the proofs
    # and the benchmarks, at the default budget; a claim whose evidence was not run would
    # have no verdict, asserted below); the built-in, mutant and seed-port rows are left
    # out: tests/implementations and tests/seeds check those.
    # No time limit at all (neither the run's budget nor the per-check one): the verdicts
    # must not depend on how loaded the machine is. One check at a time, so that the test
    # shares the machine with the rest of the suite like any other test (not `serial`).
    main(["--out", str(tmp_path), "--no-progress", "--budget", "0", "--check-timeout", "0", "--jobs", "1",
          "--claims"], stream=stream)
    md = (tmp_path / "report.md").read_text()
    assert "Wall time" in md
    shown = readme_statuses(README_PATH.read_text(encoding="utf-8"))
    import re

    computed = dict(re.findall(r"^\| `([^`]+)` \| \S+ \| .*? \| \*\*([A-Z-]+)", md, re.M))
    assert computed == shown, f"the verdicts changed: {HOW}"
    # What keeps this run from exit 0 is only the rows it left out: no claim is without a
    # verdict but those whose evidence is measured on real Redis (--backend redis).
    skipped = sorted(k for k, v in computed.items() if v == "SKIPPED")
    problems = [line.split(": ", 2)[2] for line in stream.getvalue().splitlines()
                if line.startswith("report: not as expected: ")]
    assert problems and all(p.startswith(("built-in ", "mutant ")) and "UNKNOWN" in p for p in problems), problems
    assert skipped and all(f"claim {k} has no verdict" not in " ".join(problems) for k in skipped)
    assert all("--backend redis" in line for line in md.splitlines()
               if any(line.startswith(f"| `{k}`") for k in skipped))


def test_claims_selects_the_claims_checks_and_no_built_in_or_mutant_row() -> None:
    from cache_conformance.report.model import BUILTIN, MUTANT
    from cache_conformance.report.plan import claim_jobs, plan

    the_plan = plan("memory", load_register(), 0)
    chosen = claim_jobs(the_plan, "memory")
    assert chosen and chosen <= set(the_plan.jobs)
    assert not any(r.job in chosen for r in the_plan.rows if r.group in (BUILTIN, MUTANT))
    named = {(e.item.factory, e.item.policy) for c in the_plan.claims for e in c.evidence if isinstance(e.item, Check)}
    assert {(j.factory, j.policy) for j in chosen} == named
