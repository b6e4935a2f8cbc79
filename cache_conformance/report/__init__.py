"""The report: proofs, checks of every built-in, mutant and seed port, and a verdict for every
claim of the seeds, written as `report.md` and `report.html`.

    from cache_conformance.report import build_report, render_markdown
    report = build_report(Path("cc-report"), backend="memory")   # what `cache-conformance report` runs
    Path("cc-report/report.md").write_text(render_markdown(report))

Its command line is `cache_conformance.commands.report`.

Heavy parts (the harness, the proofs) are imported when a report is built, not here.
"""

from cache_conformance.report.build import Progress, build_report
from cache_conformance.report.html import render_html
from cache_conformance.report.markdown import (
    SECTION_TITLE,
    readme_statuses,
    render_markdown,
    render_seeds_section,
    replace_readme_section,
)
from cache_conformance.report.model import (
    CheckResult,
    CheckRow,
    ClaimRow,
    Job,
    ProofRow,
    Report,
)

__all__ = [
    "SECTION_TITLE",
    "CheckResult",
    "CheckRow",
    "ClaimRow",
    "Job",
    "Progress",
    "ProofRow",
    "Report",
    "build_report",
    "readme_statuses",
    "render_html",
    "render_markdown",
    "render_seeds_section",
    "replace_readme_section",
]
