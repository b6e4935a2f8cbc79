"""Servers for the Redis-backed tests, the way users provide them: REDIS_URL /
DATABASE_URL when set, else a redis-server started here and the local PostgreSQL.
A test whose server cannot be reached is skipped with the reason (.ci/run refuses skips)."""

from __future__ import annotations

import itertools
import os

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
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'cache-conformance[postgres]'")
    import psycopg

    url = postgres_url()
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL unreachable at {url}: {' '.join(str(exc).split())}")
    return url


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
