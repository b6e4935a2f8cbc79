"""The README's "checking your own implementation" example does what the README says."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from cache_conformance.cli import main

README = Path(__file__).parents[2] / "README.md"


def test_readme_example_violates_as_described(tmp_path, monkeypatch):
    text = README.read_text()
    code = re.search(r"```python\n# mycache.py\n(.*?)```", text, re.S).group(1)
    (tmp_path / "mycache.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mycache", None)
    out = io.StringIO()
    code = main(["check", "mycache:factory", "--policy", "write-through", "--no-timeline"], stdout=out,
                stderr=io.StringIO())
    assert code == 1
    printed = out.getvalue()
    assert "clause broken: linearizable-reads" in printed
    assert "run.fault('db-timeout', applied=True)" in printed
    for line in ("run.write('k0', 'v1')", "run.write('k0', 'v2')", "run.read('k0')"):
        assert line in printed and line in text
