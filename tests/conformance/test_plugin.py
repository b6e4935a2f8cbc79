"""The pytest plugin: the README's three-line CI gate passes a correct subject and fails a
broken one with the counterexample in the failure output."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

GATE = '''
def test_gate(conformance):
    conformance("tests.conformance.subjects:{name}", policy="write-through")
'''


@pytest.mark.parametrize("name, passes", [("write_through", True), ("cache_first", False)])
def test_three_line_gate(pytester, name, passes, request, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(request.config.rootpath))
    pytester.makepyfile(test_gate=GATE.format(name=name))
    # The plugin comes in through its pytest11 entry point, as it does for users.
    result = pytester.runpytest_subprocess("--cc-examples", "60", "-q")
    if passes:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*NonConformance: VIOLATES*", "*clause broken: no-phantom*", "*run.fault('db-down')*"])


def test_loading_the_plugin_imports_none_of_the_harness(request):
    # pytest loads the plugin in every run of every user who installed the package: it must
    # cost them nothing until a test asks for the fixture.
    code = ("import sys, pytest_cache_conformance\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('hypothesis', 'conformance', 'cache_conformance', 'model', 'proofs', 'implementations'))))")
    env = dict(os.environ, PYTHONPATH=str(request.config.rootpath))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [], f"loading the plugin imported: {p.stdout.strip()}"
