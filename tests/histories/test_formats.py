"""Each format parsed and checked by the command line: a valid history CONFORMS (exit 0),
an invalid one VIOLATES with the right clause (exit 1), and what each format's lines mean."""

from __future__ import annotations

import io
import json
import sys

import pytest

from tests.histories.cli import DATA, run, usage_error

CASES = [
    # file, format sniffed, verdict, clause
    ("valid.jsonl", "jsonl", "CONFORMS", None),
    ("stale.jsonl", "jsonl", "VIOLATES", "linearizable-reads"),
    ("valid.edn", "edn", "CONFORMS", None),
    ("stale.edn", "edn", "VIOLATES", "linearizable-reads"),
    ("failed-write-read.edn", "edn", "VIOLATES", "no-phantom"),
    ("cas-stale.edn", "edn", "VIOLATES", "linearizable-reads"),
    ("cas.edn", "edn", "UNKNOWN", None),
    ("valid.porcupine.json", "porcupine", "CONFORMS", None),
    ("stale.porcupine.jsonl", "porcupine", "VIOLATES", "linearizable-reads"),
]


@pytest.mark.parametrize("name, fmt, verdict, clause", CASES)
def test_each_format_is_checked(name: str, fmt: str, verdict: str, clause: str | None, tmp_path) -> None:
    report = tmp_path / "r.json"
    code, out, err = run("check-history", str(DATA / name), "--policy", "write-through", "--json", str(report))
    assert code == (0 if verdict == "CONFORMS" else 1), (out, err)
    assert out.startswith(f"{verdict}: {DATA / name} as write-through ({fmt}:"), out
    data = json.loads(report.read_text())
    assert (data["verdict"], data["clause"], data["format"]) == (verdict, clause, fmt)
    if verdict == "VIOLATES":
        assert f"clause broken: {clause}" in out and "counterexample: a failing sub-history" in out
        assert data["line"] is not None and data["counterexample_minimal"] is True
        assert "timeline of the counterexample:" in out and "<< VIOLATION" in out
    # the format given explicitly reads the same
    assert run("check-history", str(DATA / name), "--policy", "write-through", "--format", fmt)[0] == code


def test_cas_is_split_and_a_pass_is_unknown() -> None:
    code, out, _ = run("check-history", str(DATA / "cas.edn"), "--policy", "write-through")
    assert code == 1 and out.startswith("UNKNOWN") and "cas" in out.split("reason:", 1)[1]


def test_jepsen_fail_is_not_applied_and_info_may_be(tmp_path) -> None:
    # valid.edn: write [0 2] failed (:fail) and write [1 1] timed out (:info), later read [1 1]
    code, out, _ = run("check-history", str(DATA / "valid.edn"), "--policy", "write-through")
    assert code == 0 and "1 operation that definitely failed" in out and "1 nemesis op skipped" in out
    # reading the :fail write's value is a phantom (failed-write-read.edn); the :info one is fine


def test_jsonl_fail_leaves_the_write_out_and_info_keeps_it(tmp_path) -> None:
    lines = [
        {"type": "invoke", "process": "c0", "f": "write", "key": "k", "value": "a", "time": 0},
        {"type": "TYPE", "process": "c0", "f": "write", "key": "k", "time": 1},
        {"type": "invoke", "process": "c1", "f": "read", "key": "k", "time": 2},
        {"type": "ok", "process": "c1", "f": "read", "key": "k", "value": "a", "time": 3},
    ]
    for kind, expected in (("info", 0), ("fail", 1), ("ok", 0)):
        f = tmp_path / f"{kind}.jsonl"
        f.write_text("".join(json.dumps({"v": 1, **{k: (kind if v == "TYPE" else v) for k, v in line.items()}}) + "\n"
                             for line in lines))
        code, out, _ = run("check-history", str(f), "--policy", "write-through", "--no-timeline")
        assert code == expected, (kind, out)
        if expected:
            assert "clause broken: no-phantom" in out


def test_convergence_from_a_cache_line(tmp_path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text('{"v":1,"type":"invoke","process":"c0","f":"write","key":"k","value":"a","time":0}\n'
                 '{"v":1,"type":"ok","process":"c0","f":"write","key":"k","value":"a","time":0}\n'
                 '{"v":1,"type":"invoke","process":"c0","f":"write","key":"k","value":"b","time":0}\n'
                 '{"v":1,"type":"ok","process":"c0","f":"write","key":"k","value":"b","time":0}\n'
                 '{"v":1,"type":"cache","key":"k","value":"a","expires_at":null,"db":"b","time":5000}\n')
    code, out, _ = run("check-history", str(f), "--policy", "cache-aside", "--no-timeline")
    assert code == 1 and "clause broken: convergence" in out and "at line 5" in out


def test_stdin_is_spooled(monkeypatch) -> None:
    text = (DATA / "stale.edn").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text), encoding="utf-8"))
    code, out, _ = run("check-history", "-", "--policy", "write-through")
    assert code == 1 and out.startswith("VIOLATES: <stdin> as write-through (edn:")
    assert "clause broken: linearizable-reads" in out


def test_html_and_json_outputs(tmp_path) -> None:
    html, js = tmp_path / "t.html", tmp_path / "t.json"
    code, out, err = run("check-history", str(DATA / "stale.jsonl"), "--policy", "write-through",
                         "--html", str(html), "--json", str(js), "--no-timeline")
    assert code == 1 and "timeline" not in out and not err
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and 'class="op read ok violation"' in page
    assert "Counterexample (failing sub-history, JSON Lines)" in page and "<script" not in page
    data = json.loads(js.read_text())
    assert data["verdict"] == "VIOLATES" and data["key"] == "k0" and data["line"] == 14
    assert data["counterexample"].splitlines()[0] == '{"v":1,"type":"meta","policy":"write-through"}'
    assert data["counterexample_lines"] == [1, 2, 5, 8, 13, 14]


def test_a_meta_line_gives_the_initial_values_and_its_policy_is_only_a_note(tmp_path) -> None:
    code, out, _ = run("check-history", str(DATA / "valid.jsonl"), "--policy", "read-through")
    assert code == 0 and "recorded checking write-through; checked here as read-through" in out


MALFORMED = [
    # (file content, --format or None, what the one line must say)
    ('{"v":1,"type":"invoke","process":"c0","f":"write","key":"k","value":"a","time":0}\n{"v":1,"type":"okk","time":1}\n',
     None, 'line 2: expected "type" to be one of meta, invoke'),
    ('{"v":1,"type":"invoke","process":"c0","f":"write","key":"k","value":"a","time":0}\n{"v":1,"type":"ok",\n',
     None, "line 2: not JSON"),
    ('{"v":1,"type":"invoke","process":"c0","f":"write","key":"k","time":0}\n', None,
     'line 1: expected a "value" field'),
    ('{"v":1,"type":"invoke","process":"c0","f":"read","key":"k","time":"soon"}\n', None,
     'line 1: expected "time" to be a number'),
    ('{"v":2,"type":"invoke"}\n', "jsonl", "line 1: schema version 2"),
    ('{"type":"invoke"}\n', "jsonl", 'line 1: expected "v": 1 on every line'),
    ('{"v":1,"type":"ok","process":"c0","time":1}\n', None, "line 1: ok of process 'c0' completes nothing"),
    ('{"v":1,"type":"invoke","process":"c0","f":"read","key":"k","time":0}\n'
     '{"v":1,"type":"invoke","process":"c0","f":"read","key":"k","time":0}\n', None,
     "line 2: process 'c0' invokes while its operation of line 1 is still open"),
    ('{"v":1,"type":"fault","fault":"meteor","time":0}\n', None, 'line 1: expected "fault" to be one of db-down'),
    ('{"v":1,"type":"clock","time":5}\n{"v":1,"type":"clock","time":4}\n', None, "line 2: time goes backwards"),
    ('{"v":1,"type":"clock","time":5}\n{"v":1,"type":"meta"}\n', None, 'line 2: a "meta" line may only be the first'),
    ("{:type :invoke, :f :txn, :value [[:r 1 nil] [:w 2 3]], :process 0, :time 1}\n", None,
     "line 1: an Elle transactional op (:f :txn): Elle's transactional histories are out of scope"),
    ("{:type :invoke, :f :write, :value [0 1], :process 0, :time 1}\n{:type :invoke, :f :add, :value 1, :process 1}\n",
     None, "line 2: expected :f to be :read, :write or :cas"),
    ("{:type :invoke, :f :write, :value [0 1], :process 0\n", None, "line 1: not "),  # EDN / an EDN op map
    ("{:type :invoke, :f :write, :value [0 1], :process 0, :time 1}\n{:type :ok, :f :read, :value [0 1], :process 0}\n",
     None, "line 2: ok says f 'read', but completes the 'write' invoked on line 1"),
    ('[{"client":0,"input":{"op":"read"},"call":1,"return":2}]', None, 'line 1: expected a read\'s "output"'),
    ('[\n{"client":0,"input":{"op":"write","value":"a"},"call":1,"return":2},\n{"client":0,"input":{"op":"bump"}}\n]',
     None, 'line 3: expected "input" to be'),
    ('{"client":0,"input":{"op":"write","value":"a"},"call":3,"return":2}\n', None, 'line 1: "return" 2 is before "call" 3'),
    ("hello\n", None, "the file starts with neither { nor ["),
    ("", None, "the file is empty"),
    (b'\xff\xfe{"v":1}\n', "jsonl", "line 1: not UTF-8 text"),
]


@pytest.mark.parametrize("content, fmt, message", MALFORMED)
def test_a_malformed_line_is_one_clear_line(content: str | bytes, fmt: str | None, message: str, tmp_path) -> None:
    f = tmp_path / "bad.history"
    if isinstance(content, bytes):
        f.write_bytes(content)
    else:
        f.write_text(content, encoding="utf-8")
    argv = ["check-history", str(f), "--policy", "write-through"] + (["--format", fmt] if fmt else [])
    line = usage_error(*run(*argv))
    assert f"{f}" in line and message in line, line


@pytest.mark.parametrize("path, message", [("missing.jsonl", "No such file or directory"), (".", "Is a directory")])
def test_an_unreadable_file_is_one_line(path: str, message: str, tmp_path) -> None:
    line = usage_error(*run("check-history", str(tmp_path / path), "--policy", "write-through"))
    assert message in line


def test_bad_options_are_usage_errors(tmp_path) -> None:
    assert "unknown policy 'nope'" in usage_error(*run("check-history", str(DATA / "valid.jsonl"), "--policy", "nope"))
    assert "--format" in usage_error(*run("check-history", str(DATA / "valid.jsonl"), "--policy", "write-through",
                                          "--format", "xml"))
    assert "does not exist" in usage_error(*run("check-history", str(DATA / "valid.jsonl"), "--policy",
                                                "write-through", "--json", str(tmp_path / "no" / "r.json")))


def test_repeated_values_past_the_explanation_limit_are_unknown_with_the_reason(tmp_path) -> None:
    from conformance.histories.check import check_file

    # Jepsen-style: 12 processes write small repeated integers at once, all timing out.
    lines = [f"{{:type :invoke, :f :write, :value [0 {p % 3}], :process {p}, :time {p}}}" for p in range(12)]
    lines += [f"{{:type :info, :f :write, :value [0 {p % 3}], :process {p}, :time {100 + p}}}" for p in range(12)]
    lines += ["{:type :invoke, :f :read, :value [0 nil], :process 20, :time 200}",
              "{:type :ok, :f :read, :value [0 2], :process 20, :time 201}"]
    f = tmp_path / "many.edn"
    f.write_text("\n".join(lines) + "\n")
    assert check_file(f, "write-through").status == "CONFORMS"
    result = check_file(f, "write-through", limit=5)
    assert result.status == "UNKNOWN" and "more than 5 explanations" in result.report.verdict.reason
