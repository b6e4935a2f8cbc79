"""README.md's section "What the seeds get wrong" is generated: regenerating it from the
register and the verdicts it shows gives the same text (fast), and a full default report
gives the same verdicts (slow). Regenerate with `cache-conformance report --update-readme`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cache_conformance.claims import load_register
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
@pytest.mark.serial  # runs its checks two at a time itself, each with a time limit
def test_a_full_default_report_gives_the_readme_verdicts(tmp_path: Path) -> None:
    stream = io.StringIO()
    # No time budget: the verdicts must not depend on how loaded the machine is.
    main(["--out", str(tmp_path), "--no-progress", "--budget", "0"], stream=stream)
    md = (tmp_path / "report.md").read_text()
    assert "Wall time" in md
    shown = readme_statuses(README_PATH.read_text(encoding="utf-8"))
    import re

    computed = dict(re.findall(r"^\| `([^`]+)` \| \S+ \| .*? \| \*\*([A-Z-]+)", md, re.M))
    assert computed == shown, f"the verdicts changed: {HOW}"
    # Exit 0 says which claims went without a verdict, and why, rather than "every claim".
    skipped = sorted(k for k, v in computed.items() if v == "SKIPPED")
    assert skipped and (f"every claim has a verdict but {len(skipped)} whose evidence is measured "
                        f"on real Redis ({', '.join(skipped)}: --backend redis) (exit code 0)") in md
