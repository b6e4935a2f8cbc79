"""A 3-master Redis Cluster started locally: the implementations work on it (hash tags keep
an entry, its meta and its write-behind stream shard in one slot), and one conformance run
per policy family goes through it."""

from __future__ import annotations

import pytest

import implementations.redis as R
from conformance import run_check
from conformance.backends import open_backend
from conformance.backends.harness import RedisBackend
from conformance.backends.live import LiveEnv, WallClock
from conformance.backends.server import RedisCluster, ServerUnavailable

# One worker runs the module, so its cluster (a module fixture) starts once.
pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.xdist_group("redis-cluster")]


@pytest.fixture(scope="module")
def cluster():
    try:
        c = RedisCluster(masters=3).start()
    except ServerUnavailable as exc:
        pytest.skip(f"cannot start a Redis Cluster: {exc}")
    yield c
    c.stop()


def test_implementations_work_across_the_cluster_slots(cluster):
    backend = open_backend(redis_url=cluster.url, clock=WallClock(), prefix="cl")
    try:
        keys = [f"user:{i}" for i in range(40)]
        wb = R.WriteBehind(LiveEnv(backend), background=False)
        wt = R.write_through(LiveEnv(backend, 1))
        for k in keys:
            wb.write(k, "b-" + k)
            wt.write("t" + k, "t-" + k)
        wb.flush()
        db = backend.db.snapshot()
        assert all(db[k] == "b-" + k and db["t" + k] == "t-" + k for k in keys)
        assert all(wb.read(k) == "b-" + k for k in keys)
        client = backend.redis
        # Entries really are spread over the three masters ...
        owners = {str(client.get_node_from_key(backend.keys.entry(k))) for k in keys}
        assert len(owners) == 3
        # ... and each key's entry, meta and stream shard share one slot.
        for k in keys:
            slots = {client.keyslot(n) for n in (backend.keys.entry(k),
                                                 backend.keys.beside(k, "m:" + k),
                                                 backend.keys.beside(k, "wb"))}
            assert len(slots) == 1
    finally:
        backend.close()


@pytest.mark.parametrize("name,policy", [("write_through", "write-through"),
                                         ("cache_aside", "cache-aside"),
                                         ("write_behind", "write-behind")])
def test_conformance_run_on_the_cluster(cluster, name, policy):
    with RedisBackend(redis_url=cluster.url) as backend:
        report = run_check(f"implementations.redis:{name}", policy, backend=backend,
                           examples=25, seed=3)
    assert report.verdict.status == "CONFORMS", report.render()


def test_write_behind_asks_every_primary_for_its_eviction_policy(cluster):
    """One primary out of three that may evict any key is enough to lose the streams of
    its slots: the refusal asks every primary, not the node a Cluster client picks."""
    import redis

    backend = open_backend(redis_url=cluster.url, clock=WallClock(), prefix="evp")
    primaries = backend.redis.get_primaries()
    last = redis.Redis(host=primaries[-1].host, port=primaries[-1].port)
    try:
        R.WriteBehind(LiveEnv(backend), background=False)  # noeviction everywhere: builds
        last.config_set("maxmemory", "100mb")
        last.config_set("maxmemory-policy", "allkeys-lfu")
        with pytest.raises(R.EvictionUnsafe, match=f"node {primaries[-1].name}.*allkeys-lfu"):
            R.WriteBehind(LiveEnv(backend), background=False)
    finally:
        last.config_set("maxmemory-policy", "noeviction")
        last.config_set("maxmemory", "0")
        last.close()
        backend.close()
