"""Each seed port keeps its seed's mistake: one fixed script per mistake.

A script is a counterexample written by hand, with the preemption (`after`) or fault at the
step where it matters. These tests pin the ports' faithfulness; the conformance suite must
find the same bugs on its own (test_conformance.py).
"""

from __future__ import annotations

from typing import Any

from implementations.seeds import dual_ledger, millisecond, poc62, quick_recap, tradeoffs

from .scripted_env import ScriptedEnv

FOREVER = 10**7  # seconds: longer than every TTL a seed sets


# --- write-through, two writers: DB order and cache order disagree -----------------------


def _writer_race(factory: Any) -> ScriptedEnv:
    """W1's DB write, then all of W2, then W1's cache write."""
    env = ScriptedEnv()
    w1, w2 = factory(env), factory(env)
    env.db.after("put", lambda: w2.write("k", "v2"))
    w1.write("k", "v1")
    return env


def test_001_write_through_two_writers_leave_cache_and_db_apart() -> None:
    env = _writer_race(poc62.write_through)
    assert env.db.data["k"] == "v2"
    assert env.cache.get("k") == "v1"  # served for the next hour: "always fresh"


def test_002_and_003_db_first_write_through_two_writers() -> None:
    for factory in (tradeoffs.write_through, dual_ledger.db_first):
        env = _writer_race(factory)
        env.advance(FOREVER)
        assert (env.db.data["k"], env.cache.get("k")) == ("v2", "v1"), factory


# --- write-through, cache first: a failed DB write leaves a phantom ------------------------


def _phantom(factory: Any) -> tuple[ScriptedEnv, Any]:
    env = ScriptedEnv()
    subject = factory(env)
    subject.write("k", "v1")
    env.db.fault = "down"
    try:
        subject.write("k", "v2")
    except ConnectionError:
        pass
    else:
        raise AssertionError("the DB was down: the write must fail")
    env.db.fault = None
    return env, subject


def test_cache_first_write_through_serves_a_write_that_failed() -> None:
    for factory in (millisecond.write_through, dual_ledger.cache_first, quick_recap.read_through):
        env, subject = _phantom(factory)
        assert env.db.data["k"] == "v1"
        assert subject.read("k") == "v2", factory  # a value the DB never got
        env.cache.delete("k")  # evicted: the same key reads an older value again
        assert subject.read("k") == "v1"


def test_db_first_write_through_has_no_phantom() -> None:
    env, subject = _phantom(poc62.write_through)
    assert subject.read("k") == "v1"


# --- a stale fill: the reader's DB read precedes a write, its fill follows it -------------


def _stale_fill(factory: Any) -> tuple[ScriptedEnv, Any]:
    env = ScriptedEnv()
    reader, writer = factory(env), factory(env)
    reader.write("k", "v1")
    env.cache.data.clear()
    env.db.after("get", lambda: writer.write("k", "v2"))
    assert reader.read("k") == "v1"
    return env, reader


def test_stale_fill_without_ttl_lasts_forever() -> None:
    for factory in (tradeoffs.write_through, quick_recap.cache_aside, dual_ledger.db_first):
        env, reader = _stale_fill(factory)
        env.advance(FOREVER)
        assert env.db.data["k"] == "v2"
        assert reader.read("k") == "v1", factory


def test_002_write_around_stale_fill_lasts_its_ttl() -> None:
    env, reader = _stale_fill(tradeoffs.write_around)
    env.advance(tradeoffs.FILL_TTL_S - 1)
    assert reader.read("k") == "v1"  # "Invalidate cache to prevent stale reads"
    env.advance(2)
    assert reader.read("k") == "v2"


# --- a cache write that fails after the DB write ---------------------------------------


def _missed_cache_update(factory: Any) -> Any:
    env = ScriptedEnv()
    subject = factory(env)
    subject.write("k", "v1")
    assert subject.read("k") == "v1"  # cached
    env.cache.fault = "down"
    subject.write("k", "v2")  # acknowledged: the DB has it
    env.cache.fault = None
    assert env.db.data["k"] == "v2"
    env.advance(FOREVER)
    return subject


def test_003_cache_write_failure_is_not_tolerable() -> None:
    # "Cache write failure is tolerable - next read fetches from DB": it reads the cache.
    assert _missed_cache_update(dual_ledger.db_first).read("k") == "v1"


def test_003_db_fallback_leaves_the_cache_stale() -> None:
    assert _missed_cache_update(dual_ledger.db_fallback).read("k") == "v1"


def test_004_cache_aside_survives_a_cache_failure_stale_forever() -> None:
    assert _missed_cache_update(quick_recap.cache_aside).read("k") == "v1"


def test_003_fail_fast_keeps_cache_and_db_together() -> None:
    env = ScriptedEnv()
    subject = dual_ledger.fail_fast(env)
    subject.write("k", "v1")
    env.cache.fault = "down"
    try:
        subject.write("k", "v2")
    except ConnectionError:
        pass
    env.cache.fault = None
    assert (env.db.data["k"], subject.read("k")) == ("v1", "v1")


def test_003_retry_queue_acknowledges_a_write_the_db_does_not_have() -> None:
    env = ScriptedEnv()
    subject = dual_ledger.retry_queue(env)
    env.cache.fault = "down"
    subject.write("k", "v1")  # returns: success
    assert "k" not in env.db.data
    env.crash()  # the retry queue was process memory
    env.cache.fault = None
    env.advance(FOREVER)
    assert "k" not in env.db.data


def test_003_retry_queue_delivers_once_the_cache_is_back() -> None:
    env = ScriptedEnv()
    subject = dual_ledger.retry_queue(env)
    env.cache.fault = "down"
    subject.write("k", "v1")
    env.cache.fault = None
    env.advance(dual_ledger.RETRY_INTERVAL_S)
    assert env.db.data["k"] == "v1"


# --- write-behind ------------------------------------------------------------------------


def test_001_write_behind_db_down_during_a_flush_loses_the_snapshot() -> None:
    env = ScriptedEnv()
    subject = poc62.write_behind(env)
    subject.write("k", "v1")
    env.db.fault = "down"
    env.advance(poc62.FLUSH_INTERVAL_S)  # the interval's flush: cleared, then connect fails
    env.db.fault = None
    assert subject.write_buffer == {}
    env.advance(60.0)
    subject.flush()
    assert "k" not in env.db.data
    env.advance(poc62.CACHE_TTL_S)
    assert subject.read("k") is None  # an acknowledged write, gone


def test_001_write_behind_requeue_overwrites_a_newer_write() -> None:
    env = ScriptedEnv()
    subject = poc62.write_behind(env)
    subject.write("k", "v1")
    env.db.fault = "timeout"  # a statement fails inside the transaction: ROLLBACK, re-queue
    env.db.after("put_many", lambda: None)
    # The newer write lands while the flush is in flight, i.e. after the snapshot.
    real_put_many = env.db.put_many

    def put_many_with_a_write_in_flight(items: Any) -> None:
        subject.write("k", "v2")
        real_put_many(items)

    env.db.put_many = put_many_with_a_write_in_flight  # type: ignore[method-assign]
    subject.flush()
    env.db.put_many = real_put_many  # type: ignore[method-assign]
    env.db.fault = None
    assert subject.write_buffer["k"]["data"] == "v1"  # the snapshot over the newer write
    subject.flush()
    assert env.db.data["k"] == "v1"
    env.advance(poc62.CACHE_TTL_S)
    assert subject.read("k") == "v1"  # v2 was acknowledged last


def test_001_write_behind_batch_of_ten_flushes_inline() -> None:
    env = ScriptedEnv()
    subject = poc62.write_behind(env)
    for i in range(poc62.BATCH_SIZE - 1):
        subject.write(f"k{i}", "v")
    assert env.db.data == {}
    subject.write("k9", "v")
    assert len(env.db.data) == poc62.BATCH_SIZE


def test_001_durable_write_behind_loses_the_popped_item() -> None:
    env = ScriptedEnv()
    subject = poc62.durable_write_behind(env)
    assert subject.durable is True
    env.db.fault = "down"
    subject.write("k", "v1")
    env.advance(poc62.BRPOP_POLL_S)  # popped; persistToDatabase throws; processQueue ends
    env.db.fault = None
    assert len(env.queues[poc62.QUEUE_NAME]) == 0
    assert all(worker.done for worker in env.workers)
    subject.write("k2", "v2")
    env.advance(60.0)
    assert env.db.data == {}  # nothing persists any more, not even later writes


def test_000_list_worker_loses_the_popped_item_on_a_crash() -> None:
    env = ScriptedEnv()
    subject = millisecond.write_behind(env)
    assert subject.durable is True
    env.db.fault = "down"
    subject.write("k", "v1")
    env.advance(millisecond.BRPOP_POLL_S + millisecond.RETRY_DELAY_S)  # popped, retrying
    env.crash()
    env.db.fault = None
    recovered = millisecond.write_behind(env)
    env.advance(60.0)
    recovered.flush()
    assert "k" not in env.db.data


def test_000_list_worker_retries_until_the_db_is_back() -> None:
    env = ScriptedEnv()
    millisecond.write_behind(env).write("k", "v1")
    env.db.fault = "down"
    env.advance(10.0)
    env.db.fault = None
    env.advance(millisecond.RETRY_DELAY_S)
    assert env.db.data["k"] == "v1"


def test_002_write_back_flush_failure_kills_the_flush_thread() -> None:
    env = ScriptedEnv()
    subject = tradeoffs.write_back(env)
    subject.write("k", "v1")
    env.db.fault = "down"
    env.advance(2 * tradeoffs.GET_TIMEOUT_S)  # item; then queue.Empty -> _flush_batch fails
    env.db.fault = None
    subject.write("k2", "v2")
    env.advance(60.0)
    assert env.db.data == {}
    assert all(worker.done for worker in env.workers)
    env.cache.data.clear()  # a cache restart: "Cache always has latest data"
    assert subject.read("k") is None


def test_004_write_back_coalesces_a_hundred_writes_into_one() -> None:
    env = ScriptedEnv()
    subject = quick_recap.write_back(env)
    for i in range(100):
        subject.write("k", f"v{i}")
    env.advance(quick_recap.FLUSH_INTERVAL_S)
    assert env.db.data == {"k": "v99"}
    assert env.db.puts == 1


def test_004_write_back_loses_a_dirty_key_evicted_before_the_flush() -> None:
    env = ScriptedEnv()
    subject = quick_recap.write_back(env)
    subject.write("k", "v1")
    env.cache.data.clear()
    env.advance(quick_recap.FLUSH_INTERVAL_S)
    assert "k" not in env.db.data
    assert subject.read("k") is None


def test_volatile_write_behinds_lose_acknowledged_writes_on_a_crash() -> None:
    for factory in (poc62.write_behind, tradeoffs.write_back, quick_recap.write_back):
        env = ScriptedEnv()
        factory(env).write("k", "v1")
        env.crash()
        factory(env)
        env.advance(60.0)
        assert "k" not in env.db.data, factory
