"""implementations.redis on real Redis + SQLite/PostgreSQL, in real time: policies,
guarded fills, and every write-behind mechanism (coalescing, retries, dead letters,
full-queue policies, crash mid-flush, several instances, graceful drain)."""

from __future__ import annotations

import time

import pytest

import implementations.redis as R
from conformance.backends.live import LiveEnv
from conformance.errors import Crashed

pytestmark = pytest.mark.redis

SYNC = ["write_through", "read_through", "cache_aside", "write_around"]


@pytest.mark.parametrize("name", SYNC)
def test_synchronous_policies_are_durable_on_ack(live, name):
    backend, make_env = live
    subject = getattr(R, name)(make_env())
    subject.write("k", "v1")
    assert backend.db.get("k") == "v1"
    assert subject.read("k") == "v1"
    subject.write("k", "v2")
    assert backend.db.get("k") == "v2"
    if name != "write_around":
        assert subject.read("k") == "v2"
    backend.cache.evict("k")
    assert subject.read("k") == "v2"


@pytest.mark.parametrize("name", ["cache_aside", "read_through"])
def test_a_fill_that_raced_a_write_is_refused(live, name):
    """The seeds' stale-fill race, interleaved by hand: the reader misses and reads the DB,
    a writer commits and finishes, then the reader's fill arrives with the old value."""
    backend, make_env = live
    reader, writer = getattr(R, name)(make_env(0)), getattr(R, name)(make_env(1))
    writer.write("k", "old")
    backend.cache.evict("k")
    names = reader._names("k")
    kind, ticket = reader.scripts.read(keys=names, args=[repr(reader.env.clock.now())])
    assert kind == "miss"
    stale = backend.db.get("k")
    writer.write("k", "new")
    filled = reader.scripts.fill(keys=names, args=[ticket, stale, reader._expires(),
                                                   repr(reader.env.clock.now())])
    assert (stale, filled) == ("old", 0)
    assert reader.read("k") == "new" and backend.cache.get("k") in (None, "new")


def test_write_around_fill_never_overwrites_a_fresher_entry(live):
    backend, make_env = live
    subject = R.write_around(make_env())
    subject.write("k", "v1")
    assert subject.read("k") == "v1"  # filled
    backend.cache.set("k", "fresher")
    backend.cache.evict("other")
    assert subject.read("k") == "fresher"


# --- write-behind ----------------------------------------------------------------------


class RecordingEnv(LiveEnv):
    """A LiveEnv whose DB can fail on demand and records the batches it commits."""

    def __init__(self, backend, instance=0, fail=None):
        super().__init__(backend, instance)
        self.batches: list[list[tuple]] = []
        self.fail = fail  # fail(items) -> exception to raise, or None
        self._db = _RecordingDB(self)

    @property
    def db(self):
        return self._db


class _RecordingDB:
    def __init__(self, env):
        self.env = env

    def __getattr__(self, name):
        return getattr(self.env.backend.db, name)

    def put_many(self, items):
        items = list(items)
        error = self.env.fail(items) if self.env.fail else None
        if error is not None:
            raise error
        self.env.batches.append(items)
        self.env.backend.db.put_many(items)

    def put(self, key, value, version=None):
        error = self.env.fail([(key, value, version)]) if self.env.fail else None
        if error is not None:
            raise error
        self.env.backend.db.put(key, value, version)


def _wb(env, **options):
    options.setdefault("background", False)
    return R.WriteBehind(env, **options)


def test_write_behind_acknowledges_before_the_db_and_flush_persists(live):
    backend, make_env = live
    subject = _wb(make_env())
    for i in range(5):
        subject.write(f"k{i}", f"v{i}")
    assert backend.db.snapshot() == {}
    assert [subject.read(f"k{i}") for i in range(5)] == [f"v{i}" for i in range(5)]
    backend.cache.evict("k3")  # the pending value still answers after an eviction
    assert subject.read("k3") == "v3"
    subject.flush()
    assert backend.db.snapshot() == {f"k{i}": f"v{i}" for i in range(5)}


def test_write_behind_coalesces_a_batch_to_one_row_per_key(live):
    backend, _ = live
    env = RecordingEnv(backend)
    subject = _wb(env)
    for i in range(10):
        subject.write("hot", f"v{i}")
    subject.flush()
    assert [len(b) for b in env.batches] == [1]
    assert env.batches[0][0][:2] == ("hot", "v9") and backend.db.get("hot") == "v9"


def test_write_behind_batch_size_bounds_each_commit(live):
    backend, _ = live
    env = RecordingEnv(backend)
    subject = _wb(env, batch_size=3)
    keys = [k for k in (f"k{i}" for i in range(200)) if backend.keys.shard(k) == 0][:7]
    for k in keys:
        subject.write(k, "v")
    subject.flush()
    assert [len(b) for b in env.batches] == [3, 3, 1]


@pytest.mark.parametrize("crash_at", ["before-commit", "after-commit"])
def test_crash_in_the_middle_of_a_flush_loses_nothing_and_never_regresses(live, crash_at):
    backend, _ = live
    k, j = _same_shard_keys(backend, 2)  # one shard: one batch, one commit
    env = RecordingEnv(backend)
    subject = _wb(env)
    subject.write(k, "v1")
    subject.write(k, "v2")
    subject.write(j, "j1")
    if crash_at == "before-commit":
        env.fail = lambda items: Crashed("crash before the DB commit")
    else:
        subject.scripts.wb_ack = _raise(Crashed("crash between the DB commit and the ack"))
    with pytest.raises(Crashed):
        subject.flush()
    env.crash()
    assert backend.db.snapshot() == ({} if crash_at == "before-commit" else {k: "v2", j: "j1"})
    recovered_env = RecordingEnv(backend, instance=0)
    recovered = _wb(recovered_env)
    recovered.write(k, "v3")
    recovered.flush()  # redelivers the crashed batch first: it must not overwrite v3
    assert backend.db.snapshot() == {k: "v3", j: "j1"}
    assert recovered.read(k) == "v3"
    assert all(int(backend.redis.xlen(backend.keys.in_shard(s, "wb"))) == 0
               for s in range(backend.keys.shards))


def _raise(exc):
    def fail(*args, **kwargs):
        raise exc
    return fail


def test_several_instances_share_one_queue(live):
    backend, _ = live
    a, b = _wb(RecordingEnv(backend, 0)), _wb(RecordingEnv(backend, 1))
    a.write("k", "a1")
    b.write("k", "b1")
    a.write("j", "a2")
    assert a.read("k") == "b1" and b.read("j") == "a2"
    b.flush()  # claims a's entries as well
    assert backend.db.snapshot() == {"k": "b1", "j": "a2"}
    a.flush()
    assert backend.db.snapshot() == {"k": "b1", "j": "a2"}


def test_transient_db_errors_are_retried_with_backoff(live):
    backend, _ = live
    failures = iter([ConnectionError("db down"), TimeoutError("db slow")])
    env = RecordingEnv(backend, fail=lambda items: next(failures, None))
    subject = _wb(env, backoff=0.01)
    subject.write("k", "v")
    started = time.monotonic()
    subject.flush()
    assert backend.db.get("k") == "v"
    assert time.monotonic() - started >= 0.03  # 0.01 then 0.02 of backoff


def test_a_db_that_stays_down_keeps_entries_pending(live):
    backend, _ = live
    env = RecordingEnv(backend, fail=lambda items: ConnectionError("db down"))
    subject = _wb(env, max_retries=2, backoff=0.0)
    subject.write("k", "v")
    with pytest.raises(ConnectionError):
        subject.flush()
    assert backend.db.get("k") is None and subject.read("k") == "v"
    env.fail = None
    subject.flush()
    assert backend.db.get("k") == "v"


def test_poison_entries_go_to_the_dead_letter_stream(live):
    backend, _ = live
    poison = lambda items: ValueError("rejected") if any(i[0] == "bad" for i in items) else None
    env = RecordingEnv(backend, fail=poison)
    subject = _wb(env)
    for k in ("good1", "bad", "good2"):
        subject.write(k, "v")
    subject.flush()
    assert backend.db.snapshot() == {"good1": "v", "good2": "v"}
    assert subject.dead_lettered == 1
    dead = backend.redis.xrange(backend.keys.beside("bad", "wb:dead"))
    assert [fields["k"] for _, fields in dead] == ["bad"]


def _same_shard_keys(backend, n):
    return [k for k in (f"k{i}" for i in range(500)) if backend.keys.shard(k) == 1][:n]


def test_full_queue_policy_fail(live):
    backend, make_env = live
    subject = _wb(make_env(), max_queue=2, full_policy="fail")
    k1, k2, k3 = _same_shard_keys(backend, 3)
    subject.write(k1, "v")
    subject.write(k2, "v")
    with pytest.raises(BufferError, match="full"):
        subject.write(k3, "v")
    assert subject.read(k3) is None


def test_full_queue_policy_write_through_persists_synchronously(live):
    backend, make_env = live
    subject = _wb(make_env(), max_queue=2)
    k1, k2, k3 = _same_shard_keys(backend, 3)
    subject.write(k1, "old")
    subject.write(k2, "v")
    subject.write(k3, "direct")
    assert backend.db.get(k3) == "direct" and subject.read(k3) == "direct"
    subject.write(k1, "x")  # the queue is still full: k1 goes through too ...
    subject.flush()  # ... and the queued "old" (an older version) cannot overwrite it
    assert backend.db.get(k1) == "x" and subject.read(k1) == "x"


def test_full_queue_policy_block_flushes_then_writes(live):
    backend, make_env = live
    subject = _wb(make_env(), max_queue=2, full_policy="block")
    k1, k2, k3 = _same_shard_keys(backend, 3)
    for k in (k1, k2, k3):
        subject.write(k, "v")
    assert backend.db.get(k1) == "v" and backend.db.get(k3) is None


def test_background_worker_flushes_on_its_interval_and_close_drains(live):
    backend, make_env = live
    subject = R.WriteBehind(make_env(), flush_interval=0.05)
    subject.write("k", "v")
    deadline = time.monotonic() + 5
    while backend.db.get("k") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert backend.db.get("k") == "v"
    subject.write("j", "last")
    subject.close()
    assert backend.db.get("j") == "last"


def test_cache_down_write_behind_fails_reads_rather_than_answer_stale(live):
    backend, make_env = live
    subject = _wb(make_env())
    subject.write("k", "pending")
    subject.redis = _Down()
    subject.scripts = type("S", (), {"read": _raise(ConnectionError("down"))})()
    with pytest.raises(ConnectionError):
        subject.read("k")


class _Down:
    def __getattr__(self, name):
        return _raise(ConnectionError("down"))


def test_write_behind_stream_entries_carry_any_unicode(live):
    backend, make_env = live
    subject = _wb(make_env())
    awkward = {"k:é": "v\x00nul", "𝄞{tag}": "v:with:colons", "": "", "lone\ud800": "x\udfff",
               "colon:": ":"}
    for k, v in awkward.items():
        subject.write(k, v)
    subject.flush()
    assert backend.db.snapshot() == awkward
    assert {k: subject.read(k) for k in awkward} == awkward
