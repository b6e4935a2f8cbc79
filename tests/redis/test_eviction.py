"""Memory pressure on a real Redis: what each maxmemory-policy evicts, and which Redis
implementations keep their promises while it does.

The write-behind keeps acknowledged writes in Redis (its streams and pending marks), so a
server that may evict any key (``allkeys-*`` with ``maxmemory``) loses them: shown here on
a real server, and refused at construction. The synchronous policies keep nothing
acknowledged in Redis: they conform while such a server evicts their keys."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

import implementations.redis as R
from conformance import run_check
from conformance.backends import open_backend
from conformance.backends.harness import RedisBackend
from conformance.backends.live import LiveEnv, WallClock
from conformance.backends.server import RedisServer
from tests.redis.servers import serving

redis = pytest.importorskip("redis", reason="redis-py is not installed: pip install 'cache-conformance[redis]'")

# serial: a junk writer keeps a server at its memory limit while a check runs.
pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.serial]

# The module that defines WriteBehind (the package re-exports a function of that name).
WRITE_BEHIND = sys.modules[R.WriteBehind.__module__]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    yield from serving(RedisServer())


def _limit(server: RedisServer, policy: str, headroom: int = 2_000_000) -> redis.Redis:
    admin = redis.Redis(port=server.port)
    admin.config_set("maxmemory", str(admin.info("memory")["used_memory"] + headroom))
    admin.config_set("maxmemory-policy", policy)
    return admin


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_write_behind_refuses_a_server_that_may_evict_any_key(server, policy):
    _limit(server, policy)
    backend = open_backend(redis_url=server.url, clock=WallClock(), prefix="refuse")
    try:
        with pytest.raises(R.EvictionUnsafe, match=f"maxmemory-policy {policy}.*noeviction"):
            R.WriteBehind(LiveEnv(backend), background=False)
    finally:
        backend.close()
    # The CLI: the factory cannot build the subject, one line, exit 2.
    cli = subprocess.run(
        [sys.executable, "-m", "cache_conformance", "check", "implementations.redis:write_behind",
         "--policy", "write-behind", "--backend", "redis", "--redis-url", server.url,
         "--examples", "5"], check=False, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2, cli.stdout + cli.stderr
    warning, error = cli.stderr.strip().splitlines()  # the harness's warning, then the refusal
    assert warning.startswith("cache-conformance: warning: Redis at") and policy in warning
    assert error.startswith("cache-conformance check: error: cannot build the subject")
    assert f"EvictionUnsafe: the Redis evicts any key under memory pressure (maxmemory-policy {policy}" in error


@pytest.mark.parametrize("policy, warned", [("allkeys-lru", True), ("noeviction", False)])
def test_a_check_on_a_server_that_may_evict_its_durable_queues_says_so(server, policy, warned):
    """The harness's own durable queues are streams too: on a server that may evict any
    key, a check still runs (a subject may keep nothing there) but says so first."""
    _limit(server, policy)
    cli = subprocess.run(
        [sys.executable, "-m", "cache_conformance", "check", "implementations.memory:durable_write_behind",
         "--policy", "write-behind", "--backend", "redis", "--redis-url", server.url,
         "--examples", "5"], check=False, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and cli.stdout.startswith("CONFORMS"), cli.stdout + cli.stderr
    if warned:
        assert cli.stderr.strip().splitlines() == [(
            f"cache-conformance: warning: Redis at {server.url} may evict any key under memory "
            f"pressure (maxmemory-policy {policy}, maxmemory "
            f"{redis.Redis(port=server.port).config_get('maxmemory')['maxmemory']}): a durable "
            "queue (env.durable_queue) evicted there is the server's loss, which a check would "
            "report as the subject's; a redis-server the harness starts (no --redis-url) has no "
            "maxmemory")]
    else:
        assert cli.stderr == ""


@pytest.mark.parametrize("policy, maxmemory", [("noeviction", True), ("volatile-lru", True),
                                               ("volatile-ttl", True), ("allkeys-lru", False)])
def test_write_behind_accepts_a_server_that_keeps_keys_without_a_ttl(server, policy, maxmemory):
    admin = _limit(server, policy)
    if not maxmemory:
        admin.config_set("maxmemory", "0")  # no limit: allkeys-lru never evicts
    backend = open_backend(redis_url=server.url, clock=WallClock(), prefix="accept")
    try:
        subject = R.WriteBehind(LiveEnv(backend), background=False)
        subject.write("k", "v")
        subject.flush()
        assert backend.db.get("k") == "v"
    finally:
        backend.close()


def _flood_after_one_write(server: RedisServer, policy: str,
                           prefix: str = "flood") -> tuple[str | None, str | None, int, int]:
    """Write `victim`, then (the policy set after construction, as an operator might)
    2,000 writes of 2 KB, all queued, none flushed: each value is kept three times (stream
    entry, pending mark, cache entry), several times the 2 MB of headroom. Returns the
    victim's read, its DB value after a flush with the limit lifted, the failed writes and
    the evicted keys."""
    backend = open_backend(redis_url=server.url, clock=WallClock(), prefix=prefix)
    try:
        subject = R.WriteBehind(LiveEnv(backend), background=False)
        subject.write("victim", "acknowledged")
        admin = _limit(server, policy)
        failed = 0
        for i in range(2000):
            try:
                subject.write(f"k{i}", "x" * 2000)
            except redis.exceptions.OutOfMemoryError:  # any other error fails the test
                failed += 1
        read = subject.read("victim")
        admin.config_set("maxmemory", "0")
        subject.flush()
        return read, backend.db.get("victim"), failed, int(admin.info("stats")["evicted_keys"])
    finally:
        backend.close()


def test_allkeys_eviction_loses_an_acknowledged_write(server):
    """Why the write-behind refuses allkeys-*: the queue outgrows the memory, so Redis
    evicts streams and pending marks, and the victim's acknowledged write is gone."""
    # Redis's LRU is approximate (it samples keys), so whether the victim's own stream
    # entry and pending mark are among the evicted keys is chance: one flood in about 70
    # kept them. The loss is shown when one of three floods, each on an emptied server
    # with its own tables, loses the acknowledged write; every flood must evict.
    admin = redis.Redis(port=server.port)
    outcomes = []
    for attempt in range(3):
        admin.config_set("maxmemory", "0")
        admin.config_set("maxmemory-policy", "noeviction")
        admin.flushall()
        admin.config_resetstat()
        read, persisted, failed, evicted = _flood_after_one_write(server, "allkeys-lru", f"flood{attempt}")
        assert failed == 0 and evicted > 0
        outcomes.append((read, persisted))
        if read is None and persisted is None:
            break  # acknowledged, then lost
    assert (None, None) in outcomes, f"the acknowledged write survived every flood: {outcomes}"


def test_noeviction_fails_writes_at_the_limit_and_loses_nothing(server):
    read, persisted, failed, evicted = _flood_after_one_write(server, "noeviction")
    assert evicted == 0 and failed > 0  # the writes past the limit fail (OOM), visibly
    assert read == "acknowledged" and persisted == "acknowledged"


class _Pressure:
    """A junk writer that keeps a server at its memory limit, and a count of the evicted
    keys that belonged to the check (keyspace notifications), so a test can tell that the
    pressure reached the subject's keys."""

    def __init__(self, server: RedisServer, prefix: str) -> None:
        self.admin = _limit(server, "allkeys-random", headroom=1_000_000)
        self.admin.config_set("notify-keyspace-events", "Ee")
        self.prefix = prefix
        self.ours = 0
        self._stop = threading.Event()
        self._pubsub = redis.Redis(port=server.port).pubsub()
        self._pubsub.subscribe("__keyevent@0__:evicted")
        self._threads = [threading.Thread(target=self._junk, args=(server.port,), daemon=True),
                         threading.Thread(target=self._count, daemon=True)]
        for thread in self._threads:
            thread.start()
        time.sleep(0.3)  # at the limit before the check starts

    def _junk(self, port: int) -> None:
        client = redis.Redis(port=port)
        value, i = b"x" * 20_000, 0
        while not self._stop.is_set():
            client.set(f"junk:{i % 60}", value)
            i += 1

    def _count(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message" and message["data"].startswith(self.prefix.encode()):
                self.ours += 1

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._pubsub.close()


@pytest.mark.parametrize("name", ["write_through", "cache_aside", "read_through", "write_around"])
def test_synchronous_policies_conform_while_redis_evicts_their_keys(server, name):
    pressure = _Pressure(server, "cc:evict")
    try:
        with RedisBackend(redis_url=server.url, prefix="evict") as backend:
            report = run_check(f"implementations.redis:{name}", name.replace("_", "-"),
                               examples=60, backend=backend)
    finally:
        pressure.stop()
    assert report.verdict.status == "CONFORMS", report.render()
    assert pressure.ours > 0  # the server did evict the check's own keys


def test_the_checker_catches_a_write_behind_on_an_evicting_server(server, monkeypatch):
    """With the refusal taken out, the same pressure breaks the write-behind, and the
    check says so: the refusal is what stands between it and this."""
    monkeypatch.setattr(WRITE_BEHIND, "refuse_evicting_server", lambda client: None)
    pressure = _Pressure(server, "cc:evict")
    try:
        with RedisBackend(redis_url=server.url, prefix="evict") as backend:
            report = run_check("implementations.redis:write_behind", "write-behind",
                               examples=200, backend=backend)
    finally:
        pressure.stop()
    # Real evictions do not replay: a failure whose shrinking could not reproduce it is
    # UNKNOWN ("flaky"). UNKNOWN is never a pass, so either verdict says the write-behind
    # is not shown to conform here; only CONFORMS would be a miss.
    assert report.verdict.status in ("VIOLATES", "UNKNOWN"), report.render()
    assert pressure.ours > 0


def test_a_server_that_will_not_say_its_policy_is_a_warning_not_a_refusal(server):
    """An ACL without INFO: the harness's own client refuses such a user at connect (it
    asks INFO whether the server is a Cluster), so a subject meets it only on a client of
    its own; the check then warns and lets the subject build."""
    from implementations.redis.eviction import refuse_evicting_server

    admin = redis.Redis(port=server.port)
    admin.acl_setuser("noinfo", enabled=True, passwords=["+pw"], keys=["*"],
                      commands=["+@all", "-info"])
    client = redis.Redis(port=server.port, username="noinfo", password="pw")
    try:
        with pytest.warns(RuntimeWarning, match="cannot read the Redis maxmemory-policy"):
            refuse_evicting_server(client)
        _limit(server, "allkeys-lru")
        with pytest.warns(RuntimeWarning):  # still unknown to this user: not refused
            refuse_evicting_server(client)
        with pytest.raises(R.EvictionUnsafe):
            refuse_evicting_server(admin)
    finally:
        client.close()
        admin.close()
