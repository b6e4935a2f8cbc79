"""Large histories drawn legibly: the HTML timeline of a violation in a 20,000-operation
history shows the violating key's window around the violation, bounded in size, with the
violating operation, faults, flushes and DB observations on it."""

from __future__ import annotations

import json
import re

import pytest

from model import VIOLATES, Verdict, Violation
from model.events import DbObserved, Invoke, Ok

from conformance import CheckReport
from conformance.histories.window import LIMIT, OPS, cut
from conformance.timeline import build, render_html
from tests.histories.cli import run
from tests.histories.gen import write, write_through_history


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    path = write(d / "h.jsonl", write_through_history(20_000, violate="k3"))
    html, js = d / "h.html", d / "h.json"
    code, out, err = run("check-history", str(path), "--policy", "write-through", "--html", str(html),
                         "--json", str(js))
    return code, out, err, html.read_text(), json.loads(js.read_text()), path


def test_a_20000_operation_violation_draws_a_bounded_window(big) -> None:
    code, out, err, page, data, _ = big
    assert code == 1 and data["verdict"] == "VIOLATES" and data["operations"] >= 20_000, (out, err)
    assert len(page.encode()) < 300_000
    # the violating read, highlighted, with what it returned
    assert re.search(r'<rect class="op read ok violation" data-op="\d+"', page)
    assert re.search(rf"-&gt; {re.escape(data['observed'])}\s+✗ violation", page.replace("&#x27;", "'"))
    # the window says what it left out, and opens at the violation
    note = re.search(r'<p class="window">([^<]*)</p>', page).group(1).replace("&#x27;", "'")
    assert f"the last {OPS} of the" in note and "operations on key 'k3'" in note and "left out:" in note
    assert '<div class="scroll windowed">' in page
    # faults, flushes and the key's DB observations are drawn on it
    assert 'class="fault" data-kind="db-down"' in page and 'class="op flush ok"' in page
    assert 'class="observe-label"' in page and "k3=" in page
    assert page.count('<rect class="op ') < 3 * OPS


def test_the_text_counterexample_is_small(big) -> None:
    code, out, _, _, data, _ = big
    counterexample = out.split("from lines", 1)[1].split("timeline of the counterexample:", 1)[0]
    assert len([x for x in counterexample.splitlines() if x.startswith("{")]) <= 7
    assert data["counterexample_minimal"] is True


def test_the_reader_streams(big) -> None:
    """Reading the 4 MB file holds the operations open at once, not what was read."""
    import itertools
    import tracemalloc

    from conformance.histories.source import HistorySource

    src = HistorySource(big[-1])
    src.scan()
    tracemalloc.start()
    try:
        n = sum(1 for _ in itertools.islice(src.items(), 12_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == 12_000 and peak < 100_000  # 12,000 events take ~1 MB of the file


def _report(history, violation) -> CheckReport:
    return CheckReport(target="t", policy="write-through", verdict=Verdict(VIOLATES, violation), examples=1,
                       steps=1, seconds=0.0, history=tuple(history))


def test_a_short_history_is_drawn_whole() -> None:
    history = [Invoke(0, "c0", "read", "k", None, 0.0), Ok(0, "x", 1.0)]
    v = Violation("no-phantom", "k", "one of None", "'x'", history[-1])
    assert cut(history, (), v) is None and build(_report(history, v)).note is None


def test_the_window_keeps_open_operations_and_renumbers_steps() -> None:
    history = [Invoke(0, "c9", "write", "k", "long", 0.0)]  # open across the whole window
    for i in range(1, LIMIT):
        history += [Invoke(i, "c0", "write", "k" if i % 2 else "other", f"v{i}", float(i)), Ok(i, None, float(i))]
    history += [DbObserved("k", "v1", 999.0)]
    v = Violation("durable-on-ack", "k", "DB holds one of 'long'", "DB holds 'v1'", history[-1])
    trace = ((len(history) - 2, "c0", "db", "put", "k"), (3, "c0", "db", "put", "k"))
    kept, steps, note = cut(history, trace, v)
    assert kept[0] is history[0] and kept[-1] is history[-1]
    assert sum(isinstance(e, Invoke) and e.key == "k" for e in kept) == OPS + 1
    assert not any(getattr(e, "key", None) == "other" for e in kept)
    assert steps == ((len(kept) - 2, "c0", "db", "put", "k"),) and "operations on other keys" in note
    page = render_html(_report(history, v))
    assert "events are numbered within the window" in page and len(page) < 100_000
