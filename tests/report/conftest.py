"""One small partial report, built once for the tests that read its files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cache_conformance.commands.report import main

# Enough to exercise every part: a built-in (CONFORMS), a mutant (VIOLATES, with a
# timeline), a seed port; every other check is UNKNOWN "not selected".
ONLY = ("implementations.memory:write_through", "write_through_swallows_db_error", "dual_ledger:cache_first")


@pytest.fixture(scope="session")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("report")
    stream = io.StringIO()
    # No --no-progress: the stream is not a terminal, so progress is one plain line per step.
    args = ["--out", str(out), "--examples", "5"]
    for o in ONLY:
        args += ["--only", o]
    code = main(args, stream=stream)
    return out, code, stream.getvalue()
