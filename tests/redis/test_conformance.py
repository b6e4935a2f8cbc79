"""The harness's own machine, contracts and checker run unchanged on the Redis backend:
the Redis implementations CONFORM, and a broken subject is caught there too."""

from __future__ import annotations

import pytest

from conformance import Run, run_check
from conformance.backends.harness import RedisBackend
from conformance.errors import StoreUnavailable

pytestmark = [pytest.mark.redis, pytest.mark.slow]

POLICIES = [("write_through", "write-through"), ("read_through", "read-through"),
            ("cache_aside", "cache-aside"), ("write_around", "write-around"),
            ("write_behind", "write-behind")]


@pytest.fixture
def redis_backend(redis_url, database):
    with RedisBackend(redis_url=redis_url, database=database) as backend:
        yield backend


@pytest.mark.parametrize("name,policy", POLICIES)
def test_redis_implementations_conform(redis_backend, name, policy, database):
    examples = 40 if database is None else 15
    report = run_check(f"implementations.redis:{name}", policy, backend=redis_backend,
                       examples=examples, seed=1)
    assert report.verdict.status == "CONFORMS", report.render()
    assert report.examples >= examples


class CacheFirstSwallowingDbErrors:
    """A seed-style write-through: cache first, DB errors ignored (a phantom under db-down)."""

    def __init__(self, env):
        self.env = env

    def write(self, key, value):
        self.env.redis.set(self.env.redis_keys.beside(key, "raw:" + key), value)
        try:
            self.env.db.put(key, value)
        except (ConnectionError, TimeoutError):
            pass

    def read(self, key):
        cached = self.env.redis.get(self.env.redis_keys.beside(key, "raw:" + key))
        return cached if cached is not None else self.env.db.get(key)


def test_a_broken_subject_is_caught_on_the_redis_backend(redis_url):
    with RedisBackend(redis_url=redis_url) as backend:
        report = run_check(CacheFirstSwallowingDbErrors, "write-through", backend=backend,
                           examples=200, seed=1)
    assert report.verdict.status == "VIOLATES", report.render()
    assert any(f in (report.counterexample or "") for f in ("db-down", "db-timeout"))  # a DB error swallowed


def test_bind_applies_the_harness_cache_faults_to_env_redis(redis_url):
    """With bind(env), the injected cache-down reaches subjects that use env.redis."""
    with RedisBackend(redis_url=redis_url) as backend:
        run = Run("implementations.redis:write_behind", "write-behind", backend=backend)
        backend.bind(run.env)
        try:
            run.write("k0", "v1")
            run.fault("cache-down")
            with pytest.raises(StoreUnavailable):
                run.env.extras["redis"].get("anything")
            assert run.read("k0") is None  # the read failed (ConnectionError): no stale answer
            run.fault("cache-up")
            assert run.read("k0") == "v1"
            run.finish()
        finally:
            run.close()
