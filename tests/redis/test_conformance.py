"""The harness's own machine, contracts and checker run unchanged on the Redis backend:
the Redis implementations CONFORM, and a broken subject is caught there too."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[2]


def _run_as_printed(script: str, tmp_path: Path, *, redis_url: str | None = None) -> subprocess.CompletedProcess:
    """The counterexample pasted into a file and run by a fresh Python, from another
    directory (so a relative path in it would not resolve); REDIS_URL as given."""
    path = tmp_path / "counterexample.py"
    path.write_text(script + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["PYTHONPATH"] = str(ROOT)  # the subject's module, tests.redis.test_conformance
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_redis_counterexample_runs_as_printed_and_replays(redis_url, database, tmp_path):
    """The Run(...) line names the backend, the server and the database (SQLite, PostgreSQL):
    pasted, it reproduces the violation (it failed with "no attribute 'redis'"). `check
    --replay` reads that backend= as text, never executed, and replays on its own backend."""
    from conformance.replay import load_replay, replay

    with RedisBackend(redis_url=redis_url, database=database) as backend:
        # A short shrink: any counterexample will do, as long as it is the one printed.
        report = run_check(CacheFirstSwallowingDbErrors, "write-through", backend=backend,
                           examples=200, seed=1, shrink_seconds=2)
        assert report.verdict.status == "VIOLATES", report.render()
        script = report.counterexample or ""
        assert f"backend=RedisBackend(redis_url={redis_url!r}" in script, script
        assert (database is None) == ("database=" not in script), script
        done = _run_as_printed(script, tmp_path)
        assert done.returncode == 1, done.stderr
        assert f"ContractViolation: {report.clause}" in done.stderr, done.stderr

        loaded = load_replay(tmp_path / "counterexample.py")
        assert loaded["header"]["backend"].startswith("RedisBackend(redis_url=")
        again = replay(CacheFirstSwallowingDbErrors, None, loaded, backend=backend)
    assert again.verdict.status == "VIOLATES" and again.clause == report.clause, again.render()
    assert "in-memory" not in (again.note or "")


def test_a_cli_check_that_started_its_own_server_prints_a_line_that_starts_one(tmp_path, monkeypatch):
    """`check --backend redis --database FILE` with no --redis-url: the server was the
    check's own and is gone, so the line starts a server of its own; the SQLite file is
    named by its absolute path, so the script runs from anywhere."""
    from cache_conformance.cli import main

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", "tests.redis.test_conformance:CacheFirstSwallowingDbErrors",
                 "--policy", "write-through", "--backend", "redis", "--database", "check.db",
                 "--seed", "1", "--examples", "200", "--json", "report.json"], stdout=out, stderr=err)
    assert code == 1, out.getvalue() + err.getvalue()
    script = json.loads((tmp_path / "report.json").read_text())["counterexample"]
    line = f"backend=RedisBackend(database={'sqlite:///' + str(tmp_path / 'check.db')!r}))"
    assert line in script and "redis_url" not in script, script
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _run_as_printed(script, elsewhere)
    assert done.returncode == 1 and "ContractViolation: " in done.stderr, done.stderr


def test_a_url_with_a_password_is_never_printed():
    """A counterexample is pasted into issues: a password in a URL is read from REDIS_URL /
    DATABASE_URL instead, and a comment above the line says which URL to set them to."""
    backend = RedisBackend(redis_url="redis://cc:s3cret@127.0.0.1:1/0",
                           database="postgresql://root:pw0rd@127.0.0.1:5432/test")
    expr = backend.expression()
    assert expr.text == ("RedisBackend(redis_url=os.environ['REDIS_URL'], "
                         "database=os.environ['DATABASE_URL'])")
    assert "import os" in expr.imports
    shown = " ".join(expr.notes)
    assert "s3cret" not in shown and "pw0rd" not in shown
    assert "REDIS_URL to the Redis URL the check used, redis://cc:***@127.0.0.1:1/0" in shown
    assert "DATABASE_URL to the database URL the check used, postgresql://root:***@127.0.0.1:5432/test" in shown
    # without a password, the URLs themselves; a started server's persistence carries over
    plain = RedisBackend(redis_url="redis://127.0.0.1:1/0", database="postgresql://root@h:5432/test")
    assert plain.expression().text == ("RedisBackend(redis_url='redis://127.0.0.1:1/0', "
                                       "database='postgresql://root@h:5432/test')")
    own = RedisBackend(persistence="aof-always", database="sqlite")
    if os.environ.get("REDIS_URL") is None:
        assert own.expression().text == "RedisBackend(persistence='aof-always')"


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
