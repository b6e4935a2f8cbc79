"""Real faults: SIGKILL of redis-server with and without AOF, and the TCP proxy (cut,
delay, blackhole) between the subject and Redis or PostgreSQL."""

from __future__ import annotations

import time

import pytest

import implementations.redis as R
from conformance.backends import open_backend
from conformance.backends.client import connect_redis
from conformance.backends.live import LiveEnv, WallClock
from conformance.backends.proxy import FaultProxy
from conformance.backends.server import RedisServer
from conformance.errors import StoreTimeout, StoreUnavailable
from tests.redis.servers import serving

# serial: SIGKILLs and restarts servers, delays and cuts connections.
pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.serial]


@pytest.fixture
def own_server(request):
    """A redis-server this test may SIGKILL; param = persistence."""
    yield from serving(RedisServer(persistence=request.param))


def _write_behind_across_sigkill(server, database):
    backend = open_backend(redis_url=server.url, database=database, clock=WallClock(),
                           prefix="sigkill")
    try:
        env = LiveEnv(backend)
        subject = R.WriteBehind(env, background=False)
        flushed = {f"f{i}": f"v{i}" for i in range(20)}
        for k, v in flushed.items():
            subject.write(k, v)
        subject.flush()
        pending = {f"p{i}": f"w{i}" for i in range(30)}
        for k, v in pending.items():
            subject.write(k, v)  # acknowledged, not flushed
        env.crash()
        server.kill()
        server.start()
        recovered = R.WriteBehind(LiveEnv(backend), background=False)
        recovered.flush()
        db = backend.db.snapshot()
        lost = sorted(k for k, v in pending.items() if db.get(k) != v)
        lost_flushed = sorted(k for k, v in flushed.items() if db.get(k) != v)
        reads = {k: recovered.read(k) for k in pending}
        return lost, lost_flushed, reads, pending
    finally:
        backend.close()


@pytest.mark.parametrize("own_server", ["aof-always"], indirect=True)
def test_durable_write_behind_loses_nothing_across_sigkill_with_aof_always(own_server, database):
    lost, lost_flushed, reads, pending = _write_behind_across_sigkill(own_server, database)
    assert lost == [] and lost_flushed == []
    assert reads == pending


@pytest.mark.parametrize("own_server", ["none"], indirect=True)
def test_without_persistence_losses_are_exactly_the_unflushed_writes(own_server, database):
    """The bounded-loss clause, counted: what was flushed survives; what was only
    acknowledged after the last flush is lost, and reads then answer the DB's value."""
    lost, lost_flushed, reads, pending = _write_behind_across_sigkill(own_server, database)
    assert lost_flushed == []
    assert len(lost) == len(pending) == 30
    assert all(v is None for v in reads.values())


@pytest.mark.parametrize("own_server", ["none"], indirect=True)
def test_write_through_stays_correct_when_redis_loses_everything(own_server):
    backend = open_backend(redis_url=own_server.url, clock=WallClock(), prefix="wtkill")
    try:
        subject = R.write_through(LiveEnv(backend))
        subject.write("k", "v1")
        own_server.kill()
        with pytest.raises(ConnectionError):
            subject.write("k", "v2")  # needs Redis for its version: fails, did nothing
        assert subject.read("k") == "v1"  # reads fall back to the DB
        own_server.start()
        subject.write("k", "v3")  # versions restart above every version in the DB
        assert backend.db.get("k") == "v3" and subject.read("k") == "v3"
    finally:
        backend.close()


@pytest.fixture
def redis_proxy(redis_url):
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = FaultProxy("127.0.0.1", port).start()
    yield proxy
    proxy.stop()


def test_proxy_cut_delay_blackhole_on_redis(redis_proxy):
    client = connect_redis(redis_proxy.url(), timeout=0.3)
    client.set("cc:proxy:k", "v")
    redis_proxy.delay(0.05)
    started = time.monotonic()
    assert client.get("cc:proxy:k") == "v"
    assert time.monotonic() - started >= 0.1  # both directions delayed
    redis_proxy.heal()
    redis_proxy.cut()
    with pytest.raises((StoreUnavailable, StoreTimeout)):  # builtin ConnectionError/TimeoutError
        client.get("cc:proxy:k")
    with pytest.raises(StoreUnavailable):  # new connections are refused while cut
        client.get("cc:proxy:k")
    redis_proxy.heal()
    assert client.get("cc:proxy:k") == "v"
    redis_proxy.blackhole()
    with pytest.raises(StoreTimeout):  # the command may have run: ambiguous
        client.set("cc:proxy:k", "w")
    redis_proxy.heal()
    assert client.get("cc:proxy:k") in ("v", "w")
    client.delete("cc:proxy:k")
    client.close()


def test_subject_behind_a_cut_proxy_fails_cleanly_then_recovers(redis_proxy):
    backend = open_backend(redis_url=redis_proxy.url(), clock=WallClock(), prefix="proxied")
    try:
        subject = R.cache_aside(LiveEnv(backend))
        subject.write("k", "v1")
        redis_proxy.cut()
        with pytest.raises((ConnectionError, TimeoutError)):
            subject.write("k", "v2")
        assert subject.read("k") == "v1"  # the DB answers while the cache is cut off
        redis_proxy.heal()
        subject.write("k", "v3")
        assert subject.read("k") == "v3" and backend.db.get("k") == "v3"
    finally:
        redis_proxy.heal()
        backend.close()


def test_failing_postgres_statements_through_the_proxy(pg_url, redis_url):
    import re

    m = re.match(r"postgres(?:ql)?://(?:(?P<user>[^@:]*)(?::[^@]*)?@)?(?P<host>[^:/]+):?(?P<port>\d*)/(?P<db>\w+)", pg_url)
    if m is None or m["host"] not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the proxy only fronts a loopback PostgreSQL, not {pg_url}")
    proxy = FaultProxy("127.0.0.1", int(m["port"] or 5432)).start()
    user = m["user"] or "root"
    backend = open_backend(redis_url=redis_url, clock=WallClock(), prefix="pgproxy",
                           database=proxy.url("postgresql", "/" + m["db"], user))
    try:
        subject = R.write_through(LiveEnv(backend))
        subject.write("k", "v1")
        proxy.cut()
        with pytest.raises((ConnectionError, TimeoutError)):
            subject.write("k", "v2")
        proxy.heal()
        assert subject.read("k") in ("v1", "v2")  # v2's commit is ambiguous, never phantom
        subject.write("k", "v3")  # the store reconnected
        assert backend.db.get("k") == "v3" and subject.read("k") == "v3"
    finally:
        proxy.heal()
        backend.close()
        proxy.stop()
