"""`check --record FILE` writes the reported run's history in the JSON Lines schema, and
`check-history` reads it back to the same verdict and clause."""

from __future__ import annotations

import json

from model.events import CacheEntry, CacheObserved, Crash, DbObserved, Fail, Fault, Invoke, Ok, Tick

from conformance.histories.source import HistorySource
from conformance.histories.schema import lines
from tests.histories.cli import run

MUTANT = "implementations.mutants.synchronous:write_through_cache_first"
SCRIPT = f"""from conformance import Run

run = Run({MUTANT!r}, policy='write-through')
run.fault('db-down')
run.write('k0', 'v1')
run.read('k0')
"""


def test_a_violating_check_recorded_and_checked_again(tmp_path) -> None:
    script, rec, report = tmp_path / "cx.py", tmp_path / "run.jsonl", tmp_path / "check.json"
    script.write_text(SCRIPT)
    code, out, err = run("check", MUTANT, "--policy", "write-through", "--replay", str(script),
                         "--record", str(rec), "--json", str(report), "--no-timeline")
    assert code == 1, (out, err)
    checked = json.loads(report.read_text())
    first = json.loads(rec.read_text().splitlines()[0])
    assert first == {"v": 1, "type": "meta", "policy": "write-through"}
    code, out, err = run("check-history", str(rec), "--policy", "write-through", "--json", str(tmp_path / "h.json"))
    again = json.loads((tmp_path / "h.json").read_text())
    assert code == 1 and (again["verdict"], again["clause"], again["key"]) == (
        checked["verdict"], checked["clause"], checked["key"]), out
    assert (again["expected"], again["observed"]) == (checked["expected"], checked["observed"])


def test_a_conforming_check_recorded_and_checked_again(tmp_path) -> None:
    rec = tmp_path / "run.jsonl"
    code, out, err = run("check", "implementations.memory:write_through", "--policy", "write-through",
                         "--examples", "3", "--steps", "12", "--record", str(rec))
    assert code == 0, (out, err)
    assert len(rec.read_text().splitlines()) > 3
    code, out, err = run("check-history", str(rec), "--policy", "write-through")
    assert code == 0 and out.startswith("CONFORMS"), (out, err)


def test_every_event_reads_back_as_itself(tmp_path) -> None:
    entry = CacheEntry("k0", "v1", 30.0)
    events = [
        Invoke(0, "c0", "write", "k0", "v1", 0.0), Ok(0, None, 0.5),
        Invoke(1, "c1", "read", "k0", None, 0.5), Invoke(2, "c1", "read", "k1", None, 0.5),  # two open on one client
        Ok(2, None, 0.75), Fail(1, "ConnectionError: cache down", 1.0),
        Fault("cache-down", 1.0, None, (entry,)), Fault("evict", 1.5, "k0"), Fault("cache-up", 2.0),
        Invoke(3, "harness", "flush", None, None, 2.0), Ok(3, None, 2.0),
        Crash(2.5, True, (entry,)), Tick(3600.0), DbObserved("k0", "v1", 3600.0),
        CacheObserved("k0", None, None, "v1", 3601.25),
    ]
    path = tmp_path / "all.jsonl"
    path.write_text("".join(line + "\n" for line in lines(events)))
    back = [e for _, _, e in HistorySource(path).items()]
    assert back == events
