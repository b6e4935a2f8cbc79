"""The races of the mutant catalog, forced by hand (tests/implementations/interleave.py):
each scenario is run on the correct implementation, which must survive it, and on the
mutant built to lose it, which must not. These are deterministic today; the scheduler of
issue 3 finds the same races by search (test_mutants.py)."""

from __future__ import annotations

import pytest

from implementations import memory
from implementations.mutants import buffered, synchronous
from tests.implementations.interleave import Crashed, Stores


def _reader_races_writer(factory) -> tuple[str | None, str | None]:
    """A reader misses and reads the DB ('old'); before it fills, a writer writes 'new'
    completely. Returns (what the racing reader returned, what a later read returns)."""
    s = Stores()
    s.db.put("k", "old")
    reader, writer = factory(s.env()), factory(s.env())
    s.db.after("get", lambda: writer.write("k", "new"))
    raced = reader.read("k")
    return raced, reader.read("k")


@pytest.mark.parametrize("factory", [memory.cache_aside, memory.write_through, memory.read_through,
                                     memory.write_around])
def test_guarded_fill_survives_a_racing_writer(factory):
    raced, later = _reader_races_writer(factory)
    assert raced in ("old", "new")  # concurrent with the write: either is linearizable
    assert later == "new"


def test_unguarded_fill_loses_to_a_racing_writer():
    raced, later = _reader_races_writer(synchronous.cache_aside_unguarded_fill)
    assert (raced, later) == ("old", "old")


def _reader_between_delete_and_put(factory) -> str | None:
    """A reader runs completely inside the writer's DB put (before it applies)."""
    s = Stores()
    s.db.put("k", "old")
    reader, writer = factory(s.env()), factory(s.env())
    s.db.before("put", lambda: reader.read("k"))
    writer.write("k", "new")
    return reader.read("k")


def test_delete_after_put_survives_a_reader_in_between():
    assert _reader_between_delete_and_put(memory.cache_aside) == "new"


def test_delete_before_put_lets_a_reader_refill_the_old_value():
    assert _reader_between_delete_and_put(synchronous.cache_aside_delete_before_db) == "old"


def _two_writers(factory) -> tuple[str | None, str | None]:
    """Writer 1 puts 'a'; right after, writer 2 writes 'b' completely; then writer 1
    finishes. Returns (DB value, what a read returns)."""
    s = Stores()
    w1, w2 = factory(s.env()), factory(s.env())
    s.db.after("put", lambda: w2.write("k", "b"))
    w1.write("k", "a")
    return s.db.get("k"), w1.read("k")


def test_write_through_survives_two_writers():
    assert _two_writers(memory.write_through) == ("b", "b")


def test_write_through_set_race_leaves_cache_behind_db():
    assert _two_writers(synchronous.write_through_set_race) == ("b", "a")


def test_lease_steal_keeps_reads_monotonic():
    """Reader 1 holds a lease and reads 'old'; a writer puts 'new' (its delete still to
    come); reader 2 steals the lease and fills 'new'. Reader 1's fill must not land, and
    no read after reader 2's may return 'old'."""
    s = Stores()
    s.db.put("k", "old")
    r1, r2, w = (memory.cache_aside(s.env()) for _ in range(3))
    seen: list[str | None] = []

    def writer_half() -> None:
        s.db.put("k", "new")  # the writer's DB step; its delete comes after reader 1
        seen.append(r2.read("k"))
        seen.append(r2.read("k"))

    s.db.after("get", writer_half)
    first = r1.read("k")
    w.write("k", "new")  # the writer's remaining step: delete (the put is idempotent)
    assert first in ("old", "new")
    assert seen == ["new", "new"]
    assert r1.read("k") == "new"
    assert s.cached("k") in (None, "new")


def _flush_races_write(factory) -> tuple[str | None, str | None]:
    """A flush takes its batch (k='a'); during its put_many a client writes k='b' and the
    commit fails (the DB went down before applying it); then a flush runs with the DB up.
    Returns (what a read returns before that flush, DB value after it)."""
    s = Stores()
    sub = factory(s.env())
    sub.write("k", "a")

    def write_then_fail() -> None:
        sub.write("k", "b")
        raise ConnectionError("database went down during put_many")

    s.db.before("put_many", write_then_fail)
    with pytest.raises(ConnectionError):
        sub.flush()
    before_flush = sub.read("k")
    sub.flush()
    return before_flush, s.db.get("k")


def test_failed_flush_keeps_the_newer_pending_write():
    assert _flush_races_write(memory.write_behind) == ("b", "b")


def test_stale_requeue_puts_the_old_snapshot_back():
    assert _flush_races_write(buffered.write_behind_stale_requeue) == ("a", "a")


def _crash_inside_commit(factory) -> str | None:
    """The instance dies at the DB commit of a flush (the commit does not happen); the
    next factory call recovers. Returns the DB value after the recovered subject flushes."""
    s = Stores()
    sub = factory(s.env(0))
    sub.write("k", "a")

    def die() -> None:
        raise Crashed()

    s.db.before("put_many", die)
    with pytest.raises(Crashed):
        sub.flush()
    recovered = factory(s.env(0))
    assert recovered.read("k") in ("a", None)
    recovered.flush()
    return s.db.get("k")


def test_durable_write_behind_replays_an_interrupted_flush():
    assert _crash_inside_commit(memory.durable_write_behind) == "a"


def test_ack_before_commit_loses_the_batch_in_a_crash():
    assert _crash_inside_commit(buffered.durable_ack_before_commit) is None


def test_crash_between_commit_and_ack_replays_idempotently():
    s = Stores()
    sub = memory.durable_write_behind(s.env(0))
    sub.write("k", "a")
    sub.write("j", "x")

    def die() -> None:
        raise Crashed()

    s.db.after("put_many", die)  # committed, not yet acked
    with pytest.raises(Crashed):
        sub.flush()
    recovered = memory.durable_write_behind(s.env(0))
    recovered.write("k", "b")
    recovered.flush()
    assert (s.db.get("k"), s.db.get("j")) == ("b", "x")
    assert len(s.queues("write-behind:0")) == 0
