"""Servers for the Redis-backed tests, the way users provide them: REDIS_URL /
DATABASE_URL when set, else a redis-server started here and the local PostgreSQL.
A test whose server cannot be reached is skipped with the reason (.ci/run refuses skips)."""

from __future__ import annotations

import itertools
import os
import re
from urllib.parse import urlsplit, urlunsplit

import pytest

from conformance.backends import BackendUnavailable, open_backend, postgres_url
from conformance.backends.live import LiveEnv, WallClock
from conformance.backends.server import RedisServer
from tests.redis.servers import serving

pytest.importorskip("redis", reason="redis-py is not installed: pip install 'cache-conformance[redis]'")

_ids = itertools.count()


class FakeClock:
    """A virtual clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    for server in serving(RedisServer(), "Redis"):
        yield server.url


@pytest.fixture(scope="session")
def pg_url():
    """DATABASE_URL or the local server; under pytest-xdist, a database of this worker's own
    on that server (see _worker_database)."""
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'cache-conformance[postgres]'")
    import psycopg

    url = postgres_url()
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL unreachable at {url}: {' '.join(str(exc).split())}")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    """The URL of database `<name>_<worker>` (test_gw0, ...) on the server of `url`, created
    if missing; the tables a test run left there when it was killed (their prefix names a
    process that is gone) are dropped. Two runs at once share the workers' databases
    safely: every backend's table has a prefix of its own (the pid, a counter)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)  # postgresql://USER@HOST:PORT/DB, the form the backends take
    name = f"{parts.path.lstrip('/') or 'postgres'}_{worker}"
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another run created it a moment ago
            except psycopg.Error as exc:
                pytest.skip(f"cannot create the worker's database {name}: {' '.join(str(exc).split())}")
    own = urlunsplit(parts._replace(path="/" + name))
    with psycopg.connect(own, autocommit=True, connect_timeout=5) as conn:
        tables = [t for (t,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'cc\\_%'")]
        for table in tables:
            m = _OUR_TABLE.fullmatch(table)
            if m and not _alive(int(m.group(1))):
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    return own


# The table prefixes of the backend fixtures below: cc_t<pid>_<n>_kv, cc_l<pid>_<n>_kv.
_OUR_TABLE = re.compile(r"cc_[tl](\d+)_\d+_kv")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(params=["sqlite", "postgres"])
def database(request):
    """Each DB-touching test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def backend(redis_url, database, clock):
    try:
        b = open_backend("redis", redis_url=redis_url, database=database, clock=clock,
                         prefix=f"t{os.getpid()}_{next(_ids)}")
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    yield b
    b.close()


@pytest.fixture
def live(redis_url, database):
    """A wall-clock backend for implementation tests; returns (backend, make_env)."""
    b = open_backend("redis", redis_url=redis_url, database=database, clock=WallClock(),
                     prefix=f"l{os.getpid()}_{next(_ids)}")
    envs: list[LiveEnv] = []

    def make_env(instance: int = 0) -> LiveEnv:
        env = LiveEnv(b, instance)
        envs.append(env)
        return env

    yield b, make_env
    for env in envs:
        env.crash()
    b.close()
