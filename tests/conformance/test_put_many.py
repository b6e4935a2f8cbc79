"""`env.db.put_many` takes a mapping or an iterable of pairs/triples, and nothing else: a
malformed batch is the subject's own error, named in one line, and stores nothing.

(The same on SQLite, PostgreSQL and the Redis backend: tests/redis/test_stores.py.)"""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType

import pytest

from conformance import Run, run_check
from conformance.errors import ContractViolation
from conformance.faults import FaultState, FaultyDB
from conformance.stores import MemoryDB, normalize_items


@pytest.mark.parametrize("items, batch", [
    ({"k0": "0", "k1": "1"}, [("k0", "0", None), ("k1", "1", None)]),
    (OrderedDict([("b", "2"), ("a", "1")]), [("b", "2", None), ("a", "1", None)]),
    (MappingProxyType({"k0": "v"}), [("k0", "v", None)]),
    ({}, []),
    ([("k0", "v1"), ["k1", "v2"]], [("k0", "v1", None), ("k1", "v2", None)]),
    ([("k0", "v1", 3), ("k0", "v0", None)], [("k0", "v1", 3), ("k0", "v0", None)]),
    ((pair for pair in [("k0", "v1")]), [("k0", "v1", None)]),
    ({"k0": "v1"}.items(), [("k0", "v1", None)]),
    ([], []),
])
def test_a_mapping_or_pairs_or_triples_are_one_batch(items, batch):
    assert normalize_items(items) == batch


@pytest.mark.parametrize("items, named", [
    ("k0", "got 'k0' (a str)"),
    (b"k0", "got b'k0' (a bytes)"),
    (5, "got 5 (an int)"),
    (None, "got None (a NoneType)"),
    (["k0"], "got the item 'k0' (a str)"),
    ({"k0", "k1"} - {"k1"}, "got the item 'k0' (a str)"),
    ([("k0",)], "got the item ('k0',) (a tuple) of 1 elements"),
    ([("k0", "v", 1, 2)], "got the item ('k0', 'v', 1, 2) (a tuple) of 4 elements"),
    ([("k0", "v1"), 7], "got the item 7 (an int)"),
    ([("k0", "v1", "3")], "whose version is '3' (a str)"),
    ([("k0", "v1", True)], "whose version is True (a bool)"),
])
def test_anything_else_is_one_line_naming_put_many_and_the_item(items, named):
    with pytest.raises((TypeError, ValueError)) as caught:
        normalize_items(items)
    message = str(caught.value)
    assert message.startswith("put_many: ") and named in message, message
    assert "\n" not in message


def test_a_long_item_is_cut_short_in_the_message():
    with pytest.raises(TypeError) as caught:
        normalize_items(["x" * 500])
    assert len(str(caught.value)) < 250 and str(caught.value).endswith("xxx... (a str)")


def test_a_malformed_batch_stores_nothing_even_after_good_items():
    db = MemoryDB()
    with pytest.raises(TypeError, match="'k0'"):
        db.put_many([("a", "1"), "k0"])
    assert db.snapshot() == {}


def test_env_db_refuses_before_its_step_and_whatever_the_faults():
    """The fault layer validates first: a misuse is the subject's error even while the DB
    is down, takes no step and consumes no armed timeout."""
    steps, faults, raw = [], FaultState(), MemoryDB()
    db = FaultyDB(raw, faults, lambda *call: steps.append(call))
    faults.db_down = True
    with pytest.raises(TypeError, match="put_many"):
        db.put_many("k0")
    faults.db_down, faults.db_timeout = False, True
    with pytest.raises(ValueError, match="put_many"):
        db.put_many([("k0", "v1"), ("k1",)])
    assert steps == [] and faults.db_timeout is True and raw.snapshot() == {}
    faults.db_timeout = None
    db.put_many({"k0": "v1"})
    assert steps == [("db", "put_many", "k0")] and raw.snapshot() == {"k0": "v1"}


class _WriteBehind:
    """A write-behind that buffers in a dict and flushes `shape(buffer)` with put_many."""

    durable = False
    shape = staticmethod(lambda pending: pending)

    def __init__(self, env):
        self.env = env
        self.pending: dict[str, str] = {}

    def write(self, key, value):
        self.pending[key] = value

    def read(self, key):
        return self.pending.get(key, self.env.db.get(key))

    def flush(self):
        if self.pending:
            self.env.db.put_many(self.shape(self.pending))
            self.pending.clear()


class FlushesTheDict(_WriteBehind):
    """put_many(buffer): the dict itself, as many people would write it."""


class FlushesTheKeys(_WriteBehind):
    """put_many(list(buffer)): the buffer's keys alone, a bare string per item."""

    shape = staticmethod(lambda pending: list(pending))


def test_a_subject_that_flushes_a_dict_is_judged_on_its_own_keys():
    run = Run(FlushesTheDict, "write-behind")
    try:
        run.write("k0", "v1")
        run.flush()
        assert run.env.raw_db.snapshot() == {"k0": "v1"}  # not {"k": "0"}
        run.finish()
    finally:
        run.close()


def test_a_subject_that_flushes_its_keys_alone_is_a_subject_error_naming_the_item():
    run = Run(FlushesTheKeys, "write-behind")
    try:
        run.write("k0", "v1")
        with pytest.raises(ContractViolation) as caught:
            run.flush()
    finally:
        run.close()
    violation = caught.value.violation
    assert violation.clause == "subject-error"
    assert ("it raised TypeError: put_many: expected a mapping or an iterable of (key, value) "
            "pairs") in violation.observed
    assert "got the item 'k0' (a str)" in violation.observed


@pytest.mark.slow
def test_the_check_verdicts():
    """A dict conforms; the keys alone are VIOLATES subject-error, and the report says why."""
    fine = run_check(FlushesTheDict, "write-behind", examples=60, seed=3)
    assert fine.verdict.status == "CONFORMS", fine.render()
    bad = run_check(FlushesTheKeys, "write-behind", examples=60, seed=3)
    assert bad.verdict.status == "VIOLATES" and bad.clause == "subject-error", bad.render()
    assert "put_many: expected a mapping" in bad.render() and "'k" in bad.render()
