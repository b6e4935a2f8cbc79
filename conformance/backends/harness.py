"""`RedisBackend`: the object ``Run(..., backend=...)`` and ``run_check(..., backend=...)``
open once per example, exactly like the embedded in-memory backend.

One redis-server (or the given URL) serves the whole check; each example gets its own key
prefix and table, removed when the example's run closes, so examples never see each
other's data and two checks can share a server.
"""

from __future__ import annotations

import atexit
import itertools
import secrets
from typing import Any, Callable

from conformance.backends import Backend, BackendUnavailable, connect_or_explain, open_backend
from conformance.backends.server import RedisServer, ServerUnavailable
from conformance.backends.sql_store import redact_url
from conformance.errors import StoreUnavailable

__all__ = ["RedisBackend"]


class RedisBackend:
    """Example::

        with RedisBackend(database="postgresql://root@127.0.0.1:5432/test") as backend:
            report = run_check("implementations.redis:write_through", "write-through",
                               backend=backend)

    Args:
        redis_url: a server to use (``redis://``, ``rediss://``, with a password); else
            REDIS_URL; else a redis-server started on a free port, stopped by ``close``.
        database: None (SQLite in a temporary directory), ``sqlite:///PATH`` or
            ``postgresql://...``.
        prefix: the run's namespace; every example adds a counter to it.
        persistence: ``"none"`` or ``"aof-always"`` for a server started here.
    """

    name = "redis"

    def __init__(self, redis_url: str | None = None, database: str | None = None,
                 prefix: str | None = None, persistence: str = "none") -> None:
        import os

        self.database = database
        self.prefix = prefix or "c" + secrets.token_hex(3)
        self.persistence = persistence
        self._counter = itertools.count()
        self.server: RedisServer | None = None
        self.redis_url = redis_url or os.environ.get("REDIS_URL")
        self.current: Backend | None = None
        self._clients: tuple[Any, Any] | None = None

    def _url(self) -> str:
        if self.redis_url is None:
            try:
                self.server = RedisServer(persistence=self.persistence).start()  # type: ignore[arg-type]
            except ServerUnavailable as exc:
                raise BackendUnavailable(str(exc)) from None
            # A caller that never closes us (a CLI run that exits early) still stops it.
            atexit.register(self.close)
            self.redis_url = self.server.url
        return self.redis_url

    def probe(self) -> None:
        """Open one example's stores, use each the way the harness does, close them: an
        unreachable Redis or DB, a bad --database, or a Redis user whose ACL refuses a
        command the harness needs raises BackendUnavailable now rather than as a traceback
        inside the first example."""
        import redis.exceptions

        class _Zero:
            def now(self) -> float:
                return 0.0

        cache, _, durable_queue, _, close = self.open(_Zero())
        try:
            try:
                cache.set("probe", "1", ttl=60.0)
                cache.cas("probe", "1", "2")
                cache.entries()
                cache.delete("probe")
                queue = durable_queue("probe")
                queue.push("1")
                queue.peek(1)
                queue.ack(1)
            finally:
                close()
        except redis.exceptions.ResponseError as exc:  # NoPermissionError among them
            raise BackendUnavailable(f"Redis at {redact_url(self.redis_url or '')} refused a "
                                     f"command the harness needs: {exc}") from None

    def open(self, clock: Any) -> tuple[Any, Any, Any, dict[str, Any], Callable[[], None]]:
        """(raw cache, raw DB, durable-queue factory, env extras, close) of one example."""
        url = self._url()
        if self._clients is None:
            # Two clients for the whole check (harness side, subject side): connecting a
            # Cluster client costs a topology discovery, too much for every example.
            self._clients = (connect_or_explain(url), connect_or_explain(url))
        backend = open_backend("redis", redis_url=url, database=self.database, clock=clock,
                               prefix=f"{self.prefix}_{next(self._counter)}", clients=self._clients)
        self.current = backend
        return backend.cache, backend.db, backend.durable_queue, backend.extras, backend.close

    def bind(self, environment: Any) -> None:
        """Route every ``env.redis`` command through the harness: it becomes a step (so a
        crashed instance unwinds there) and the cache-down fault applies to it, as it does
        to ``env.cache`` and the durable queues."""
        if self.current is None:
            return
        faults, step = environment.faults, environment._step

        def interceptor(name: str, call: Callable[[], Any]) -> Any:
            step("redis", name, None)
            if faults.cache_down:
                raise StoreUnavailable(f"cache is down (injected fault) during redis {name}")
            return call()

        self.current.redis._cc_interceptor = interceptor

    def close(self) -> None:
        if self._clients is not None:
            for client in self._clients:
                client.close()
            self._clients = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> "RedisBackend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
