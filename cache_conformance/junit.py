"""Verdicts as JUnit XML, for CI systems that read it (`check --junit`, `check-history --junit`).

One `<testsuite>` with one `<testcase>` per checked target and policy:

* CONFORMS: the testcase alone (a pass);
* VIOLATES: a `<failure>` whose `type` is the clause broken and whose text holds the clause's
  statement, the key, what was expected and what was observed, and the counterexample;
* UNKNOWN: an `<error type="UNKNOWN">` with the reason. UNKNOWN is never a pass, and a
  `<skipped>` would read as one in most CI systems (a skipped test does not fail a build).

The report's full text goes into the testcase's `<system-out>`. Written with the standard
library's `xml.etree`; characters XML 1.0 cannot carry (control characters a subject wrote)
are escaped as `\\xNN`, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance import CheckReport

__all__ = ["junit_xml", "write_junit"]

# Characters outside XML 1.0's Char production (tab, newline and carriage return are allowed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _testcase(report: CheckReport, output: str) -> ET.Element:
    case = ET.Element("testcase", {
        "classname": _text(f"cache-conformance.{report.policy}"),
        "name": _text(f"{report.target} as {report.policy}"),
        "time": f"{report.seconds:.3f}",
    })
    verdict = report.verdict
    v = verdict.violation
    if verdict.status == "VIOLATES":
        lines = v.report_lines() if v is not None else []
        if verdict.reason:
            lines.append(f"reason: {verdict.reason}")
        if report.counterexample:
            lines += ["", "counterexample:", "", report.counterexample]
        clause = v.clause if v is not None else "VIOLATES"
        message = lines[0] if v is not None else (verdict.reason or "VIOLATES")
        failure = ET.SubElement(case, "failure", {"type": _text(clause), "message": _text(message)})
        failure.text = _text("\n".join(lines))
    elif verdict.status != "CONFORMS":  # UNKNOWN: an error, never a pass or a skip
        reason = verdict.reason or report.note or "the check could not decide"
        error = ET.SubElement(case, "error", {"type": _text(verdict.status), "message": _text(reason)})
        error.text = _text("\n".join(x for x in (f"reason: {reason}", report.note and f"note: {report.note}") if x))
    out = ET.SubElement(case, "system-out")
    out.text = _text(output)
    return case


def junit_xml(reports: Sequence[CheckReport], *, suite: str,
              outputs: Sequence[str] | None = None) -> ET.ElementTree:
    """The JUnit XML document of `reports`: one testsuite named `suite`, one testcase each.

    Args:
        outputs: each report's text as the command printed it, for `<system-out>`
            (default: `CheckReport.render()`).
    """
    if outputs is None:
        outputs = [r.render() for r in reports]
    statuses = [r.verdict.status for r in reports]
    root = ET.Element("testsuite", {
        "name": _text(suite),
        "tests": str(len(reports)),
        "failures": str(statuses.count("VIOLATES")),
        "errors": str(sum(1 for s in statuses if s not in ("CONFORMS", "VIOLATES"))),
        "skipped": "0",
        "time": f"{sum(r.seconds for r in reports):.3f}",
        "timestamp": datetime.now(UTC).replace(microsecond=0).isoformat(),
    })
    for report, output in zip(reports, outputs, strict=True):
        root.append(_testcase(report, output))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(reports: Sequence[CheckReport], path: Path, *, suite: str,
                outputs: Sequence[str] | None = None) -> None:
    """Write `junit_xml(reports, suite=suite, outputs=outputs)` to `path` (UTF-8, with an
    XML declaration).

    Raises:
        OSError: the file cannot be written.
    """
    document = ET.tostring(junit_xml(reports, suite=suite, outputs=outputs).getroot(), encoding="unicode")
    path.write_text("<?xml version='1.0' encoding='utf-8'?>\n" + document + "\n", encoding="utf-8")
