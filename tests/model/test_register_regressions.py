"""Linearizable histories the contract machinery once rejected: an indeterminate (failed)
write was made to take effect only when a read returned its value, at that read's
completion, before the operations still open then could linearize and after every
write linearized during the read. Each is checked against the reference too."""

from __future__ import annotations

import pytest

from model import Contract, DbObserved, Fail, Invoke, Ok, check_history, policy
from tests.model.reference import linearizable


def _read(op, client, t):
    return Invoke(op, client, "read", "k", None, t)


def _write(op, client, value, t):
    return Invoke(op, client, "write", "k", value, t)


HISTORIES = {
    # As Hypothesis shrank it (test_register_differential, before the fix): read #1
    # returns the failed write's 'v4' while read #3 and write #2 are still open; #3 then
    # returns None, so #3 linearized before 'v4' took effect: None, v4, v2 is the order.
    "shrunk": [
        _read(1, "c0", 0.0), _write(2, "c1", "v2", 1.0), _read(3, "c2", 2.0), _write(4, "c3", "v4", 3.0),
        Fail(4, "TimeoutError", 4.0), Ok(1, "v4", 5.0), Ok(2, None, 6.0), Ok(3, None, 7.0),
        _read(5, "c0", 8.0), Ok(5, "v2", 9.0), _read(6, "c0", 10.0), Ok(6, "v2", 11.0),
        _read(7, "c0", 12.0), Ok(7, "v2", 13.0),
    ],
    # The same, reduced by hand: an open read linearizes before the revealed write.
    "open read before the revealed write": [
        _read(1, "c0", 0.0), _read(2, "c1", 1.0), _write(3, "c2", "a", 2.0), Fail(3, "TimeoutError", 3.0),
        Ok(1, "a", 4.0), Ok(2, None, 5.0),
    ],
    # An open write linearizes before the revealed write: b, a, and the last read sees a.
    "open write before the revealed write": [
        _write(1, "c0", "a", 0.0), Fail(1, "TimeoutError", 1.0), _read(2, "c0", 2.0), _write(3, "c1", "b", 3.0),
        Ok(2, "a", 4.0), Ok(3, None, 5.0), _read(4, "c1", 6.0), Ok(4, "a", 7.0),
    ],
    # The first failure Hypothesis found, reduced by hand: write b is invoked and completes
    # while read #2 is open; #2 returns the failed write's a, so a took effect before b,
    # and the last read sees b.
    "write completed during the revealing read": [
        _write(1, "c0", "a", 0.0), Fail(1, "TimeoutError", 1.0), _read(2, "c0", 2.0), _write(3, "c1", "b", 3.0),
        Ok(3, None, 4.0), Ok(2, "a", 5.0), _read(4, "c1", 6.0), Ok(4, "b", 7.0),
    ],
    # A DB observation reveals it while a read that returns the initial value is open.
    "open read before a write revealed by the DB": [
        _read(1, "c0", 0.0), _write(3, "c2", "a", 2.0), Fail(3, "TimeoutError", 3.0),
        DbObserved("k", "a", 4.0), Ok(1, None, 5.0),
    ],
}


@pytest.mark.parametrize("name", list(HISTORIES))
def test_linearizable_history_with_a_late_revealed_write_conforms(name):
    history = HISTORIES[name]
    assert linearizable(history)
    assert check_history(Contract(policy("write-through")), history).status == "CONFORMS"
