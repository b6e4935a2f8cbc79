"""The raw stores of one run on real servers (Redis for the cache and the durable queues,
SQLite or PostgreSQL for the database), and how to open them.

The harness builds its environment from these exactly as it does from the in-memory
stores (conformance.stores); its fault layer, scheduler, machines and checker are
unchanged. `conformance.backends.harness.RedisBackend` opens one set per example.

Example::

    backend = open_backend("redis", database=None, clock=clock, prefix="run1")
    try:
        ...  # env.cache = wrap(backend.cache); env.db = wrap(backend.db);
             # env.durable_queue = backend.durable_queue; for k, v in backend.extras: setattr(env, k, v)
    finally:
        backend.close()
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Callable

import attrs

from conformance.backends.client import Interceptor, connect_redis, set_interceptor
from conformance.backends.redis_store import Clock, RedisCache, RedisKeyspace, RedisQueue
from conformance.backends.server import RedisCluster, RedisServer, ServerUnavailable
from conformance.backends.sql_store import SqlDB, open_postgres, open_sqlite, redact_url
from conformance.errors import UsageError

__all__ = [
    "RedisStores",
    "BackendUnavailable",
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

DEFAULT_POSTGRES_URL = "postgresql://root@127.0.0.1:5432/test"


class BackendUnavailable(UsageError):
    """A server of the backend is missing or unreachable (one line; the CLI exits 2)."""


def postgres_url() -> str:
    """DATABASE_URL when set, else the local server this project's CI provides."""
    return os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL


def _missing(extra: str, module: str) -> BackendUnavailable:
    return BackendUnavailable(
        f"the {module} package is needed for this backend: pip install 'cache-conformance[{extra}]'")


@attrs.define(eq=False)
class RedisStores:
    """The raw stores of one run on real servers, and how to release them.

    Not a `conformance.backend.Backend` (that is `harness.RedisBackend`, which opens one
    of these per example): the stores themselves, also used directly by the wall-clock
    environment (`live.LiveEnv`) and the benchmark."""

    cache: RedisCache
    db: SqlDB
    redis_url: str
    keys: RedisKeyspace
    server: RedisServer | None  # the redis-server this run started (None with --redis-url)
    interceptor: Interceptor | None = None
    shared_subject_client: Any = None  # reused across examples (a Cluster client is costly)
    _closers: list[Callable[[], None]] = attrs.field(factory=list)
    _queues: dict[str, RedisQueue] = attrs.field(factory=dict, init=False)
    _subject_client: Any = attrs.field(default=None, init=False)

    def durable_queue(self, name: str) -> RedisQueue:
        """env.durable_queue: one stream per name, shared by every instance of the run."""
        if name not in self._queues:
            self._queues[name] = RedisQueue(self.cache.client, self.keys.queue(name))
        return self._queues[name]

    @property
    def redis(self) -> Any:
        """env.redis: a separate client for the subject, through the harness's interceptor."""
        if self._subject_client is None and self.shared_subject_client is not None:
            self._subject_client = self.shared_subject_client
            set_interceptor(self._subject_client, self.interceptor)
        if self._subject_client is None:
            self._subject_client = connect_redis(self.redis_url, interceptor=self.interceptor)
            self._closers.append(self._subject_client.close)
        return self._subject_client

    @property
    def extras(self) -> dict[str, Any]:
        """Attributes to set on env besides cache/db/durable_queue."""
        return {"redis": self.redis, "db_connection": self.db.connection,
                "redis_keys": self.keys}

    def close(self) -> None:
        """Remove the run's keys and table, disconnect, stop a server this run started."""
        errors: list[BaseException] = []
        for close in [self.cache.close, self.db.close, *reversed(self._closers)]:
            try:
                close()
            except Exception as exc:  # keep closing the rest; report the first
                errors.append(exc)
        if self.server is not None:
            self.server.stop()
        if errors:
            raise errors[0]


def open_database(database: str | None, *, table_prefix: str) -> SqlDB:
    """``None`` or ``sqlite``: SQLite in a temporary directory; ``sqlite:///PATH`` or a
    ``.db``/``.sqlite3`` path: that file; ``postgresql://...``: PostgreSQL."""
    try:
        return _open_database(database, table_prefix=table_prefix)
    except ConnectionError as exc:  # StoreUnavailable: a server down, a file we cannot open
        raise BackendUnavailable(str(exc)) from None


def _open_database(database: str | None, *, table_prefix: str) -> SqlDB:
    if database in (None, "", "sqlite"):
        return open_sqlite(table_prefix=table_prefix)
    assert database is not None
    if database.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise _missing("postgres", "psycopg") from None
        return open_postgres(database, table_prefix=table_prefix)
    if database.startswith("sqlite:///"):
        return open_sqlite(database[len("sqlite:///"):], table_prefix=table_prefix)
    if database.endswith((".db", ".sqlite", ".sqlite3")):
        return open_sqlite(database, table_prefix=table_prefix)
    raise BackendUnavailable(
        f"--database {database!r}: expected postgresql://USER@HOST:PORT/DB, sqlite:///PATH or "
        "a .db/.sqlite3 file")


def connect_or_explain(url: str) -> Any:
    """``connect_redis(url)``, with a server that cannot be reached or a URL it refuses
    turned into one line (BackendUnavailable; the password shown as ***)."""
    try:
        return connect_redis(url)
    except (ConnectionError, TimeoutError) as exc:
        raise BackendUnavailable(f"Redis at {redact_url(url)} is unreachable ({exc})") from None
    except ValueError as exc:
        raise BackendUnavailable(f"Redis at {redact_url(url)}: {exc}") from None


def open_backend(kind: str = "redis", *, redis_url: str | None = None,
                 database: str | None = None, clock: Clock, prefix: str | None = None,
                 persistence: str = "none", interceptor: Interceptor | None = None,
                 clients: tuple[Any, Any] | None = None) -> RedisStores:
    """Open the raw stores of one run.

    Args:
        kind: only ``"redis"`` (the in-memory stores live in conformance.stores).
        redis_url: a server to use; else REDIS_URL; else a redis-server started here on a
            free port (stopped by ``close``), with `persistence` ``"none"`` or ``"aof-always"``.
        database: see :func:`open_database`.
        clock: the harness's clock; cache TTLs are virtual seconds of it.
        prefix: keeps this run's keys and table apart from any other run's (random if None).
        interceptor: wraps every command of ``env.redis`` (scheduler steps, faults).
        clients: (raw client, subject client) made by ``connect_redis`` to reuse; the
            caller keeps them open and closes them.

    Raises:
        BackendUnavailable: a missing package or an unreachable server, in one line.
    """
    if kind != "redis":
        raise BackendUnavailable(f"unknown backend {kind!r}: expected 'redis'")
    try:
        import redis  # noqa: F401
    except ImportError:
        raise _missing("redis", "redis") from None
    prefix = prefix or "r" + secrets.token_hex(4)
    try:
        keys = RedisKeyspace(f"cc:{prefix}:")
        table_prefix = "cc_" + prefix.replace("-", "_").replace(":", "_").replace(".", "_")
        db = open_database(database, table_prefix=table_prefix)
    except ValueError as exc:
        raise BackendUnavailable(str(exc)) from None
    server = None
    try:
        url = redis_url or os.environ.get("REDIS_URL")
        if not url:
            server = RedisServer(persistence=persistence).start()  # type: ignore[arg-type]
            url = server.url
        if clients is not None:
            return RedisStores(RedisCache(clients[0], clock, keys, owns_client=False), db, url, keys,
                               server, interceptor, shared_subject_client=clients[1])
        client = connect_or_explain(url)
        return RedisStores(RedisCache(client, clock, keys), db, url, keys, server, interceptor)
    except ServerUnavailable as exc:
        db.close()
        raise BackendUnavailable(str(exc)) from None
    except BaseException:
        db.close()
        if server is not None:
            server.stop()
        raise
