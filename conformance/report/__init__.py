"""The report: proofs, checks of every built-in, mutant and seed port, and a verdict for every
claim of the seeds, written as `report.md` and `report.html`.

    from conformance.report import main
    main(["--out", "cc-report"], stream=sys.stdout)     # cache-conformance report --out cc-report

Heavy parts (the harness, the proofs) are imported when a report is built, not here.
"""

from conformance.report.build import Progress, build_report
from conformance.report.cli import main
from conformance.report.html import render_html
from conformance.report.markdown import (
    SECTION_TITLE,
    readme_statuses,
    render_markdown,
    render_seeds_section,
    replace_readme_section,
)
from conformance.report.model import CheckResult, CheckRow, ClaimRow, Job, ProofRow, Report

__all__ = [
    "main", "build_report", "Progress", "render_markdown", "render_html", "render_seeds_section",
    "readme_statuses", "replace_readme_section", "SECTION_TITLE",
    "Report", "CheckRow", "CheckResult", "ClaimRow", "ProofRow", "Job",
]
