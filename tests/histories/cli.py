"""Running the command line in-process for the tests of check-history."""

from __future__ import annotations

import io
from pathlib import Path

from cache_conformance.cli import main

DATA = Path(__file__).parent / "data"


def run(*argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `cache-conformance *argv`."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def usage_error(code: int, out: str, err: str) -> str:
    """The one line of a usage error (asserting that it is one)."""
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cache-conformance check-history: error: "), err
    assert "Traceback" not in err and not out
    return lines[0]
