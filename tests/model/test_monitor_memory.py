"""The monitor's memory on a streamed history (issue 18: memory grows with the open
operations and the values that can still be read, not with the history), and the
violation it words after reading the history again equals the one worded from memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

from model import Contract, DbObserved, Event, Fail, Invoke, Ok, check_history, policy

KEYS = 4


def stream(n: int, bad_at: int | None = None) -> Iterator[Event]:
    """Two clients over KEYS keys: overlapping writes, reads of the value in force, a failed
    write now and then (indeterminate), DB observations; with `bad_at`, the read of
    operation `bad_at` returns a value overwritten before it began."""
    t = 0.0
    written: dict[str, list[str]] = {}
    for i in range(n):
        key = f"k{i % KEYS}"
        t += 1
        w, r = 2 * i + 1, 2 * i + 2
        value = f"v{i}"
        yield Invoke(w, "c0", "write", key, value, t)
        yield Invoke(r, "c1", "read", key, None, t)
        older = written.setdefault(key, [])
        if i % 50 == 7:
            yield Fail(w, "TimeoutError", t + 0.5)  # it took effect (the DB shows it below)
        else:
            yield Ok(w, None, t + 0.5)
        # Two writes back: overwritten before this read began.
        seen = older[-2] if (bad_at is not None and r == bad_at and len(older) >= 2) else value
        older[:] = [*older[-1:], value]
        yield Ok(r, seen, t + 0.6)
        if i % 10 == 0:
            yield DbObserved(key, value, t + 0.7)


def _peak(n: int) -> int:
    contract = Contract(policy("write-through"))
    tracemalloc.start()
    try:
        verdict = check_history(contract, stream(n), replay=lambda: stream(n))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert verdict.status == "CONFORMS", verdict
    return peak


def test_memory_does_not_grow_with_the_streamed_history():
    small, large = _peak(2_000), _peak(20_000)
    # Ten times the history: before the replay, the per-key logs and facts made this ~10x.
    assert large < 1.5 * small + 64_000, (small, large)


def test_a_violation_worded_after_a_replay_equals_the_one_worded_from_memory():
    contract = Contract(policy("write-through"))
    n, bad = 400, 2 * 321 + 2
    streamed = check_history(contract, stream(n, bad), replay=lambda: stream(n, bad))
    in_memory = check_history(contract, stream(n, bad))  # a one-shot stream: the monitor keeps its log
    assert streamed.status == in_memory.status == "VIOLATES"
    assert streamed.violation == in_memory.violation
    assert streamed.violation.clause == "linearizable-reads"
    assert streamed.violation.event.op == bad


def test_a_history_that_changed_when_read_again_is_unknown_not_a_verdict():
    contract = Contract(policy("write-through"))
    n, bad = 200, 2 * 150 + 2
    verdict = check_history(contract, stream(n, bad), replay=lambda: stream(n))
    assert verdict.status == "UNKNOWN"
    assert "changed while it was being checked" in verdict.reason
