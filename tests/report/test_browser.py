"""report.html as headless Chromium renders it: the tables exist in the live DOM."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cache_conformance.claims import load_register

pytestmark = [pytest.mark.browser, pytest.mark.serial]  # Chromium loads every core

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: apt-get install -y chromium")
def test_the_report_opens_in_chromium_and_shows_its_tables(small_report: tuple[Path, int, str], tmp_path: Path) -> None:
    page = small_report[0] / "report.html"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    for table in ("summary", "proofs", "builtins", "mutants", "seeds", "claims"):
        assert re.search(rf'<table id="{table}">.*?<tbody>\s*<tr', dom, re.S), table
    assert len(re.findall(r"<tr data-claim=", dom)) == len(load_register())
    assert "<svg" in dom[dom.index('id="counterexamples"'):]
