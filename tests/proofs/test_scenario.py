"""Every refuting trace exports as a scenario that parses back and replays on the model."""

from __future__ import annotations

import json

import pytest

from model.protocols import REQUIRED, build, property_by_id, protocol_by_id
from model.protocols.expr import evaluate
from proofs import explicit
from proofs.scenario import (
    FORMAT,
    ScenarioError,
    export,
    load,
    parse,
    run_on_model,
    write,
)

REFUTED_ROWS = [r for r in REQUIRED if r.expected == "REFUTED"]


def _trace(row):
    system = build(protocol_by_id(row.protocol), row.scenario)
    result = explicit.check(system, property_by_id(row.property))
    assert result.trace is not None
    return system, result.trace


@pytest.mark.parametrize("row", REFUTED_ROWS, ids=lambda r: r.protocol)
def test_exported_scenario_parses_back_and_reproduces_the_violation(row, tmp_path):
    system, trace = _trace(row)
    path = write(trace, tmp_path)
    data = load(path)
    assert data == export(trace)
    assert data["format"] == FORMAT and data["policy"] == system.policy
    assert data["origin"] == {"protocol": row.protocol, "property": row.property,
                              "engine": "explicit"}
    client_steps = [s for s in trace.steps if s.actor != "env"]
    assert data["schedule"] == [s.actor for s in client_steps]
    assert len(data["faults"]) == len(trace.steps) - len(client_steps)
    # The schedule alone determines the run, and it ends in the violation.
    states = run_on_model(system, data)
    assert states[-1] == dict(trace.states[-1])
    assert not evaluate(property_by_id(row.property).expr(system), states[-1])


def test_exported_example_matches_the_documented_shape():
    row = next(r for r in REFUTED_ROWS if r.protocol == "wb-pop-before-commit")
    _, trace = _trace(row)
    data = export(trace)
    assert data["clients"] == {"c0": [{"op": "write", "key": "k", "value": "v1"}],
                               "c1": [{"op": "flush"}, {"op": "flush"}]}
    assert data["schedule"] == ["c0", "c0", "c1", "c1", "c1"]
    assert data["faults"] == [{"before_step": 4, "fault": "crash"}]
    assert data["initial"] == {"db": {"k": "v0"}, "cache": {}}
    assert data["expect"]["clause"] == "bounded-loss"


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not JSON"),
        ("[]", "expected a JSON object"),
        (json.dumps({"format": "other"}), "'format' must be"),
    ],
)
def test_bad_scenario_files_are_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_scenario_fields_are_validated():
    _, trace = _trace(REFUTED_ROWS[0])
    good = export(trace)
    for mutate, fragment in [
        (lambda d: d.update(policy="write-sideways"), "unknown policy"),
        (lambda d: d["schedule"].append("c9"), "'schedule'"),
        (lambda d: d["faults"].append({"before_step": 99, "fault": "crash"}), "before_step"),
        (lambda d: d["faults"].append({"before_step": 0, "fault": "meteor"}), "'fault'"),
        (lambda d: d["clients"]["c0"].append({"op": "write", "key": "k"}), "'value'"),
        (lambda d: d.pop("expect"), "'expect'"),
    ]:
        data = json.loads(json.dumps(good))
        mutate(data)
        with pytest.raises(ScenarioError, match=fragment.replace("'", "'")):
            parse(data)


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load(tmp_path / "absent.json")


def test_the_format_is_defined_once_in_the_model_without_io():
    """The harness reads scenarios through model.scenario_format (no upward import into
    proofs/); proofs.scenario writes and loads files with the same definitions."""
    import ast
    import inspect

    import model.scenario_format as fmt
    import proofs.scenario as files

    for name in ("FORMAT", "KEY", "FAULTS", "ScenarioError", "parse"):
        assert getattr(files, name) is getattr(fmt, name), name
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(fmt))):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
    assert imported <= {"__future__", "typing", "model"}, imported
    # The policy names are the model's, aliases included, and every exported fault parses.
    from model import POLICIES

    assert set(fmt.POLICIES) == {n for p in POLICIES.values() for n in (p.name, *p.aliases)}
    for row in REFUTED_ROWS:
        _, trace = _trace(row)
        assert fmt.parse(export(trace)) is not None


def test_the_replayer_reads_scenarios_through_the_model():
    from pathlib import Path

    source = (Path(__file__).parents[2] / "conformance" / "replay.py").read_text(encoding="utf-8")
    assert "from proofs" not in source and "import proofs" not in source
    assert "from model.scenario_format import" in source
