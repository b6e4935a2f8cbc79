"""f=delete in the JSON Lines schema: a delete is a write of None (model.vocabulary.WRITES);
`check-history` decides histories with deletes by the same contract as `check`, and
`check --record` of a run with deletes reads back to the same clause."""

from __future__ import annotations

import json

from tests.histories.cli import run

_HEAD = [
    {"v": 1, "type": "invoke", "process": "c0", "f": "write", "key": "k0", "value": "v1", "time": 0},
    {"v": 1, "type": "ok", "process": "c0", "time": 1},
    {"v": 1, "type": "invoke", "process": "c0", "f": "delete", "key": "k0", "time": 2},
]


def _check(tmp_path, rows, policy="write-through"):
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return run("check-history", str(path), "--policy", policy, "--no-timeline")


def _read(value, at):
    return [{"v": 1, "type": "invoke", "process": "c1", "f": "read", "key": "k0", "time": at},
            {"v": 1, "type": "ok", "process": "c1", "value": value, "time": at + 1}]


def test_a_read_after_a_delete_returns_null(tmp_path) -> None:
    done = _HEAD + [{"v": 1, "type": "ok", "process": "c0", "f": "delete", "time": 3}]
    code, out, _ = _check(tmp_path, done + _read(None, 4) + [{"v": 1, "type": "db", "key": "k0", "value": None, "time": 6}])
    assert code == 0 and out.startswith("CONFORMS"), out
    code, out, _ = _check(tmp_path, done + _read("v1", 4))
    assert code == 1 and "clause broken: linearizable-reads" in out, out


def test_a_failed_delete_is_left_out_and_an_info_one_is_indeterminate(tmp_path) -> None:
    failed = _HEAD + [{"v": 1, "type": "fail", "process": "c0", "time": 3}]
    code, out, _ = _check(tmp_path, failed + _read("v1", 4))
    assert code == 0, out
    code, out, _ = _check(tmp_path, failed + _read(None, 4))
    assert code == 1, out  # it did not take effect: null is not readable
    info = _HEAD + [{"v": 1, "type": "info", "process": "c0", "time": 3}]
    for value in ("v1", None):  # it may have taken effect, or not
        code, out, _ = _check(tmp_path, info + _read(value, 4))
        assert code == 0, out


def test_a_delete_has_no_value(tmp_path) -> None:
    bad = _HEAD[:2] + [dict(_HEAD[2], value="v2")]
    code, _, err = _check(tmp_path, bad)
    assert code == 2 and "value" in err, err


def test_a_resurrection_recorded_and_checked_again(tmp_path) -> None:
    mutant = "implementations.mutants.buffered:write_behind_resurrects"
    script, rec, report = tmp_path / "cx.py", tmp_path / "run.jsonl", tmp_path / "check.json"
    script.write_text(f"from conformance import Run\n\nrun = Run({mutant!r}, policy='write-behind')\n"
                      "run.write('k0', 'v1')\nrun.delete('k0')\nrun.flush()\n")
    code, out, err = run("check", mutant, "--policy", "write-behind", "--replay", str(script),
                         "--record", str(rec), "--json", str(report), "--no-timeline")
    assert code == 1, (out, err)
    assert any(json.loads(line).get("f") == "delete" for line in rec.read_text().splitlines())
    checked = json.loads(report.read_text())
    code, out, err = run("check-history", str(rec), "--policy", "write-behind", "--json", str(tmp_path / "h.json"))
    again = json.loads((tmp_path / "h.json").read_text())
    assert code == 1 and (again["clause"], again["key"]) == (checked["clause"], checked["key"]) \
        == ("no-regression", "k0"), out
