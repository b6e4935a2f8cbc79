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


def test_put_many_of_a_dict_on_the_redis_backend_and_its_misuse(redis_backend):
    """env.db.put_many over SQLite/PostgreSQL: a dict is stored as its items; the buffer's
    keys alone are the subject's error, naming put_many and the item, and store nothing."""
    from conformance.errors import ContractViolation
    from tests.conformance.test_put_many import FlushesTheDict, FlushesTheKeys

    run = Run(FlushesTheDict, "write-behind", backend=redis_backend)
    try:
        run.write("k0", "v1")
        run.flush()
        assert run.env.raw_db.snapshot() == {"k0": "v1"}
        run.finish()
    finally:
        run.close()
    run = Run(FlushesTheKeys, "write-behind", backend=redis_backend)
    try:
        run.write("k0", "v1")
        with pytest.raises(ContractViolation) as caught:
            run.flush()
        assert run.env.raw_db.snapshot() == {}
    finally:
        run.close()
    assert caught.value.violation.clause == "subject-error"
    assert "TypeError: put_many: expected a mapping" in caught.value.violation.observed
    assert "got the item 'k0' (a str)" in caught.value.violation.observed


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


def _steps_of_one_scenario(backend: RedisBackend) -> list[tuple]:
    run = Run("implementations.redis:write_behind", "write-behind", backend=backend, instances=2)
    try:
        run.write("k0", "v1")
        run.read("k0")
        run.flush()
        run.write("k1", "v2")
        run.read("k1")
        run.finish()
        return [entry[1:] for entry in run.env.trace]  # (task, store, call, key), no positions
    finally:
        run.close()


def test_a_subject_takes_the_same_steps_whether_or_not_redis_holds_its_scripts():
    """The server's script cache outlives an example: the first run of a scenario finds
    the scripts missing (NOSCRIPT, SCRIPT LOAD, EVALSHA again), its replay finds them
    loaded. Both must take the same steps, or a replay draws another schedule (this made
    every check with --instances 2 UNKNOWN or an error on Redis)."""
    from conformance.backends.server import RedisServer
    from tests.redis.servers import serving

    for server in serving(RedisServer()):  # a server no script was ever loaded into
        with RedisBackend(redis_url=server.url) as backend:
            first = _steps_of_one_scenario(backend)
            assert backend._scripts  # the scripts the subject loaded during the first run
            again = _steps_of_one_scenario(backend)
        assert first == again and any(call == "EVALSHA" for _, _, call, _ in first)


@pytest.mark.parametrize("name,policy", [("write_through", "write-through"),
                                         ("write_behind", "write-behind")])
def test_two_instances_conform_on_redis(redis_url, name, policy):
    """Two application instances end to end: the canonical races explored exhaustively
    (write-through stopped there with "not available on replay" before the script-cache
    fix), then random examples. The determinism itself is the test above's."""
    with RedisBackend(redis_url=redis_url) as backend:
        report = run_check(f"implementations.redis:{name}", policy, backend=backend,
                           examples=25, instances=2)
    assert report.verdict.status == "CONFORMS", report.render()


def test_the_cli_explores_a_scenario_exhaustively_on_the_redis_backend(redis_url):
    """--exhaustive runs on the backend asked for (it used to run on the in-memory one,
    where a Redis implementation cannot even be built)."""
    import io

    from cache_conformance.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "implementations.redis:write_through", "--policy", "write-through",
                 "--backend", "redis", "--redis-url", redis_url, "--instances", "2",
                 "--exhaustive", "c0:read:k0 c1:write:k0", "--initial", "k0=v0"],
                stdout=out, stderr=err)
    assert code == 0, out.getvalue() + err.getvalue()
    assert out.getvalue().startswith("CONFORMS") and "exhaustive: all" in out.getvalue()


def test_script_commands_are_not_steps_and_a_missing_script_is_refused_before_its_step(redis_url):
    import redis

    with RedisBackend(redis_url=redis_url) as backend:
        run = Run("implementations.redis:write_through", "write-through", backend=backend)
        try:
            client = run.env.extras["redis"]
            steps = run.env.steps
            sha = client.execute_command("SCRIPT", "LOAD", "return 7")  # the two-word form
            assert sha in backend._scripts and run.env.steps == steps
            assert client.evalsha(sha, 0) == 7 and run.env.steps == steps + 1
            client.script_flush()
            assert not backend._scripts and run.env.steps == steps + 1
            with pytest.raises(redis.exceptions.NoScriptError):
                client.evalsha(sha, 0)  # refused here: no step, nothing sent
            assert run.env.steps == steps + 1
            run.fault("cache-down")
            with pytest.raises(StoreUnavailable):
                client.evalsha(sha, 0)  # the cache is down: a step, as for any command
            assert run.env.steps == steps + 2
        finally:
            run.close()
