"""The pytest plugin: the README's three-line CI gate passes a correct subject and fails a
broken one with the counterexample in the failure output."""

from __future__ import annotations

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
