"""The raw stores on real servers behave like the in-memory ones the harness was built on."""

from __future__ import annotations

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends import BackendUnavailable, backend_for, open_backend
from conformance.backends.redis_store import RedisKeyspace
from conformance.backends.server import RedisServer
from conformance.stores import MemoryCache, MemoryDB
from tests.redis.servers import serving

pytestmark = pytest.mark.redis

AWKWARD = ["plain", "", "ünïcødé ✓ 𝄞", "nul\x00byte", "'; DROP TABLE x; --", "{tag}", "*?[glob]"]


def test_cache_matches_memory_cache_on_virtual_time(backend, clock):
    """The same script on MemoryCache and RedisCache gives the same observations."""
    memory = MemoryCache(clock)
    seen = {"memory": [], "redis": []}
    for name, cache in (("memory", memory), ("redis", backend.cache)):
        clock.t = 0.0
        out = seen[name]
        cache.set("a", "1", ttl=10)
        cache.set("b", "2")
        out.append((cache.get("a"), cache.get("b"), cache.get("zz")))
        out.append(cache.cas("a", None, "x"))
        out.append(cache.cas("a", "1", "3", ttl=5))
        out.append(cache.cas("c", None, "c1"))
        out.append(sorted(cache.entries().items()))
        clock.t = 4.999
        out.append(cache.get("a"))
        clock.t = 5.0  # expiry is exclusive: at expires_at the entry is gone
        out.append((cache.get("a"), cache.cas("a", None, "after")))
        cache.evict("b")
        cache.delete("c")
        out.append(sorted(cache.entries().items()))
        cache.clear()
        out.append(cache.entries())
    assert seen["memory"] == seen["redis"]
    assert seen["redis"][2] is True and seen["redis"][1] is False


@pytest.mark.parametrize("text", AWKWARD)
def test_any_unicode_roundtrips_through_cache_db_and_queue(backend, text):
    backend.cache.set(text, text)
    assert backend.cache.get(text) == text
    assert backend.cache.entries()[text][0] == text
    backend.db.put(text, text)
    assert backend.db.get(text) == text
    assert backend.db.snapshot() == {text: text}
    queue = backend.durable_queue(text or "empty")
    queue.push(text)
    assert queue.peek(1) == [text]


def test_one_megabyte_values(backend):
    big = "é" * (1 << 19)  # 1 MiB as UTF-8
    backend.cache.set("big", big)
    backend.db.put("big", big)
    assert backend.cache.get("big") == big and backend.db.get("big") == big
    backend.db.put_many([("many", big), ("many2", big[::-1])])  # one statement on PostgreSQL
    backend.db.put_many([("versioned", big, 1)])
    assert backend.db.get("many2") == big[::-1] and backend.db.get("versioned") == big


def test_db_versioned_puts_never_go_back(backend):
    memory = MemoryDB()
    for db in (memory, backend.db):
        db.put("k", "v1", version=2)
        db.put("k", "old", version=1)
        db.put("k", "same", version=2)
        db.put_many([("k", "v3", 3), ("j", "j1", 1), ("k", "stale", 1)])
        db.put_many([("j", "j2"), ("m", "m1")])  # unversioned: always applied
        db.delete("m")
    assert backend.db.snapshot() == memory.snapshot() == {"k": "v3", "j": "j2"}


# Batches as the write-behind flush and the seed ports send them, and worse: repeated
# keys, equal and decreasing versions, Unicode and surrogate keys, rows already present
# with or without a version. PostgreSQL applies a homogeneous batch as one statement over
# arrays (one row per key), so its choice of the surviving item is what is checked here.
_KEY_NAMES = ["a", "b", "é𝄞", "nul\x00", "\ud800"]
_KEYS = st.sampled_from(_KEY_NAMES)
_PLAIN = st.lists(st.tuples(_KEYS, st.text(max_size=3)), min_size=1, max_size=8)
# Small and 64-bit versions in one batch: the versions go as one binary array parameter,
# whose element type the driver picks from the values (the statement casts it to bigint[]).
_VERSIONS = st.one_of(st.integers(-2, 4), st.sampled_from([2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1]))
_VERSIONED = st.lists(st.tuples(_KEYS, st.text(max_size=3), _VERSIONS), min_size=1,
                      max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(st.one_of(_PLAIN, _VERSIONED), max_size=2),
       batch=st.one_of(_PLAIN, _VERSIONED, st.lists(st.one_of(
           st.tuples(_KEYS, st.text(max_size=3)),
           st.tuples(_KEYS, st.text(max_size=3), _VERSIONS)), min_size=1, max_size=8)))
def test_put_many_applies_a_batch_in_order_as_the_memory_db_does(backend, before, batch):
    memory = MemoryDB()
    for key in _KEY_NAMES:  # the backend outlives one example
        backend.db.delete(key)
    for db in (memory, backend.db):
        for items in before:
            db.put_many(items)
        db.put_many(batch)
    assert backend.db.snapshot() == memory.snapshot()
    # and versions survive too: a later put decides as it would after MemoryDB's batch
    for db in (memory, backend.db):
        for key in ("a", "é𝄞"):
            db.put(key, "probe", version=2)
    assert backend.db.snapshot() == memory.snapshot()


def test_put_many_is_atomic(backend):
    """A batch that fails half-way leaves nothing behind (2**70 overflows BIGINT/INTEGER)."""
    backend.db.put("a", "before")
    with pytest.raises(Exception):
        backend.db.put_many([("a", "after", 1), ("b", "b1", 2 ** 70)])
    assert backend.db.snapshot() == {"a": "before"}


def test_put_many_takes_a_mapping_as_its_items(backend):
    """A dict is its items, as on MemoryDB: not its keys unpacked into key 'k', value '0'."""
    memory = MemoryDB()
    for db in (memory, backend.db):
        db.put_many({"k0": "0", "k1": "1"})
        db.put_many({"k1": "one"}.items())
        db.put_many({})
    assert backend.db.snapshot() == memory.snapshot() == {"k0": "0", "k1": "one"}


@pytest.mark.parametrize("batch, named", [
    ("k0", "got 'k0' (a str)"),
    (["k0", "k1"], "got the item 'k0' (a str)"),
    ([("a", "after"), ("b",)], "got the item ('b',) (a tuple) of 1 elements"),
    ([("a", "after", 2), ("b", "b1", "3")], "whose version is '3' (a str)"),
    (7, "got 7 (an int)"),
])
def test_a_malformed_batch_is_refused_before_any_statement(backend, batch, named):
    backend.db.put("a", "before")
    with pytest.raises((TypeError, ValueError)) as caught:
        backend.db.put_many(batch)
    assert str(caught.value).startswith("put_many: ") and named in str(caught.value)
    assert backend.db.snapshot() == {"a": "before"}


def test_queue_is_fifo_and_ack_removes_oldest(backend):
    q = backend.durable_queue("wb")
    for i in range(5):
        q.push(f"i{i}")
    assert q.peek(2) == ["i0", "i1"] and q.peek(2) == ["i0", "i1"] and len(q) == 5
    q.ack(2)
    assert q.peek(10) == ["i2", "i3", "i4"]
    q.ack(10)
    assert len(q) == 0 and q.peek(3) == []


def test_prefixes_keep_runs_apart(redis_url, clock):
    a = open_backend(redis_url=redis_url, clock=clock, prefix="isoA")
    b = open_backend(redis_url=redis_url, clock=clock, prefix="isoB")
    try:
        a.cache.set("k", "a")
        a.durable_queue("q").push("a")
        assert b.cache.get("k") is None and b.cache.entries() == {} and len(b.durable_queue("q")) == 0
        a.close()  # removes only a's keys
        b.cache.set("k", "b")
        assert b.cache.get("k") == "b"
    finally:
        b.close()


def test_keyspace_shares_a_slot_between_entry_and_beside_keys():
    from redis.crc import key_slot  # pure CRC16, no server needed

    ks = RedisKeyspace("cc:x:")
    slots = set()
    for key in AWKWARD:
        name = ks.entry(key)
        slot = key_slot(name.encode("utf-8", "surrogatepass"))
        assert slot == key_slot(ks.beside(key, "m:" + key).encode("utf-8", "surrogatepass"))
        assert ks.key_of(name) == key
        slots.add(slot)
    assert len(slots) > 1  # keys do spread over the cluster


@pytest.fixture(scope="module")
def password_server():
    yield from serving(RedisServer(password="s3cret"))


def test_password_url_is_honoured(password_server, clock):
    with pytest.raises(BackendUnavailable):
        open_backend(redis_url=password_server.url, clock=clock)
    url = f"redis://:s3cret@127.0.0.1:{password_server.port}/0"
    b = open_backend(redis_url=url, clock=clock)
    b.cache.set("k", "v")
    assert b.cache.get("k") == "v"
    b.close()


@pytest.mark.parametrize("bad", ["has{brace}", "star*", "space here"])
def test_bad_prefix_is_one_clear_error(redis_url, clock, bad):
    with pytest.raises(BackendUnavailable, match="prefix"):
        open_backend(redis_url=redis_url, clock=clock, prefix=bad)


def test_sqlite_file_that_cannot_be_opened_is_one_line(clock, tmp_path):
    with pytest.raises(BackendUnavailable, match="sqlite at .*unable to open database file"):
        open_backend(clock=clock, database=str(tmp_path / "no" / "such" / "dir.db"))
    garbage = tmp_path / "not-a-database.db"
    garbage.write_bytes(b"not a database " * 100)
    with pytest.raises(BackendUnavailable, match="sqlite at .*file is not a database"):
        open_backend(clock=clock, database=str(garbage))
    assert garbage.read_bytes() == b"not a database " * 100  # the user's file is untouched


def test_a_redis_that_refuses_the_set_up_or_a_command_is_one_line(password_server):
    port = password_server.port
    admin = redis.Redis(port=port, password="s3cret")
    # A user that may connect and ping but not SCAN (the harness's clean-up), as an ACL
    # of a shared server may be written.
    admin.acl_setuser("limited", enabled=True, passwords=["+pw"], keys=["*"],
                      commands=["+@all", "-scan"])
    try:
        with pytest.raises(BackendUnavailable, match="refused a command the harness needs: .*'scan'"):
            backend_for("redis", redis_url=f"redis://limited:pw@127.0.0.1:{port}/0")
        with pytest.raises(BackendUnavailable, match="refused the connection's set-up: DB index is out of range"):
            backend_for("redis", redis_url=f"redis://:s3cret@127.0.0.1:{port}/99")
        with pytest.raises(BackendUnavailable, match=r"redis://:\*\*\*@.*authentication failed"):
            backend_for("redis", redis_url=f"redis://:wrong@127.0.0.1:{port}/0")
        backend_for("redis", redis_url=f"redis://:s3cret@127.0.0.1:{port}/0").close()  # the right one
    finally:
        admin.acl_deluser("limited")
        admin.close()


def test_unreachable_servers_are_one_line(clock):
    with pytest.raises(BackendUnavailable, match="unreachable"):
        open_backend(redis_url="redis://127.0.0.1:1/0", clock=clock)
    with pytest.raises(BackendUnavailable, match="postgres at postgresql://u:\\*\\*\\*@"):
        open_backend(redis_url="redis://127.0.0.1:1/0", clock=clock,
                     database="postgresql://u:secret@127.0.0.1:1/x")
    with pytest.raises(BackendUnavailable, match="expected postgresql"):
        open_backend(clock=clock, database="mysql://nope")
