"""Real backends for the conformance harness: Redis for the cache and the durable queues,
SQLite or PostgreSQL for the database, and the real faults that go with them.

* `backend_for("redis", ...)`: the `conformance.backend.Backend` a check opens once per
  example (`harness.RedisBackend`);
* `open_backend(...)`: one set of raw stores on real servers (`stores.RedisStores`), for
  the wall-clock environment (`live.LiveEnv`) and the benchmark.

Example::

    backend = open_backend("redis", database=None, clock=clock, prefix="run1")
    try:
        ...  # env.cache = wrap(backend.cache); env.db = wrap(backend.db);
             # env.durable_queue = backend.durable_queue; for k, v in backend.extras: setattr(env, k, v)
    finally:
        backend.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.backends.redis_store import RedisCache, RedisKeyspace, RedisQueue
from conformance.backends.server import RedisCluster, RedisServer, ServerUnavailable
from conformance.backends.sql_store import SqlDB
from conformance.backends.stores import (
    BackendUnavailable,
    RedisStores,
    connect_or_explain,
    open_backend,
    open_database,
    postgres_url,
)

if TYPE_CHECKING:
    from conformance.backends.harness import RedisBackend

__all__ = [
    "RedisStores",
    "BackendUnavailable",
    "backend_for",
    "connect_or_explain",
    "open_backend",
    "open_database",
    "postgres_url",
    "RedisServer",
    "RedisCluster",
    "RedisCache",
    "RedisQueue",
    "RedisKeyspace",
    "SqlDB",
    "ServerUnavailable",
]



def backend_for(kind: str, *, redis_url: str | None = None, database: str | None = None,
                prefix: str | None = None, persistence: str = "none") -> RedisBackend:
    """The backend object ``run_check(..., backend=...)`` opens once per example
    (:class:`conformance.backends.harness.RedisBackend`). Servers are checked now, so a
    missing one is one line before any example runs.

    Raises:
        BackendUnavailable: unknown kind, missing package, unreachable server, bad URL.
    """
    if kind != "redis":
        raise BackendUnavailable(f"unknown backend {kind!r}: expected 'redis'")
    from conformance.backends.harness import RedisBackend

    backend = RedisBackend(redis_url=redis_url, database=database, prefix=prefix,
                           persistence=persistence)
    try:
        backend.probe()
    except BaseException:
        backend.close()
        raise
    return backend
