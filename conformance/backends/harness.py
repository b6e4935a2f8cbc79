"""`RedisBackend`: a `conformance.backend.Backend` that ``Run(..., backend=...)`` and
``run_check(..., backend=...)`` open once per example, exactly like the embedded in-memory
backend.

One redis-server (or the given URL) serves the whole check; each example gets its own key
prefix and table, removed when the example's run closes, so examples never see each
other's data and two checks can share a server.
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance.backend import Backend, Stores
from conformance.backends.stores import (
    BackendUnavailable,
    RedisStores,
    connect_or_explain,
    open_backend,
)
from conformance.backends.client import set_interceptor
from conformance.backends.server import RedisServer, ServerUnavailable
from conformance.backends.sql_store import redact_url
from conformance.errors import StoreUnavailable
from conformance.script import Expr

if TYPE_CHECKING:
    from conformance.env import Environment

__all__ = ["RedisBackend"]


class RedisBackend(Backend):
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
        self.database = database
        self.prefix = prefix or "c" + secrets.token_hex(3)
        self.persistence = persistence
        self._counter = itertools.count()
        self.server: RedisServer | None = None
        self.redis_url = redis_url or os.environ.get("REDIS_URL")
        # Whether the server is one `_url` starts for this check (it is gone after it).
        self._own_server = self.redis_url is None
        self.current: RedisStores | None = None
        self._clients: tuple[Any, Any] | None = None
        # What a user should know before trusting a verdict on this server (`probe`).
        self.warnings: list[str] = []
        # SHAs of the Lua scripts the server is known to hold, for the whole check: its
        # script cache outlives the examples (see `bind`).
        self._scripts: set[str] = set()

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

        stores = self.open(_Zero())
        try:
            try:
                stores.cache.set("probe", "1", ttl=60.0)
                stores.cache.cas("probe", "1", "2")
                stores.cache.entries()
                stores.cache.delete("probe")
                queue = stores.queues("probe")
                queue.push("1")
                queue.peek(1)
                queue.ack(1)
            finally:
                stores.close()
        except redis.exceptions.ResponseError as exc:  # NoPermissionError among them
            raise BackendUnavailable(f"Redis at {redact_url(self.redis_url or '')} refused a "
                                     f"command the harness needs: {exc}") from None
        self.warnings = self._eviction_warnings()

    def _eviction_warnings(self) -> list[str]:
        """A server that may evict any key (``maxmemory`` with an ``allkeys-*`` policy) can
        evict a durable queue, which the env promises survives: a loss a check would blame
        on the subject. Not refused: a subject that keeps nothing there is checked fine."""
        client = self._raw()
        where = {"target_nodes": client.PRIMARIES} if hasattr(client, "get_primaries") else {}
        try:
            info = client.info("memory", **where)
        except Exception:  # noqa: BLE001 - gone since the probe's commands: nothing to warn of
            return []
        sections = [info] if "maxmemory_policy" in info else [v for v in info.values() if isinstance(v, dict)]
        for section in sections:  # one line is enough, whichever Cluster node it is
            policy = str(section.get("maxmemory_policy", ""))
            if policy.startswith("allkeys-") and int(section.get("maxmemory", 0) or 0) > 0:
                return [(f"Redis at {redact_url(self.redis_url or '')} may evict any key under "
                         f"memory pressure (maxmemory-policy {policy}, maxmemory "
                         f"{section.get('maxmemory')}): a durable queue (env.durable_queue) evicted "
                         "there is the server's loss, which a check would report as the subject's; "
                         "a redis-server the harness starts (no --redis-url) has no maxmemory")]
        return []

    def open(self, clock: Any) -> Stores:
        """The raw stores of one example: its own key prefix and table, removed by their close."""
        url = self._url()
        if self._clients is None:
            # Two clients for the whole check (harness side, subject side): connecting a
            # Cluster client costs a topology discovery, too much for every example.
            self._clients = (connect_or_explain(url), connect_or_explain(url))
        backend = open_backend("redis", redis_url=url, database=self.database, clock=clock,
                               prefix=f"{self.prefix}_{next(self._counter)}", clients=self._clients)
        self.current = backend
        return Stores(cache=backend.cache, db=backend.db, queues=backend.durable_queue, extras=backend.extras,
                      close=backend.close)

    def bind(self, environment: Environment) -> None:
        """Route every ``env.redis`` command through the harness's step hook
        (``environment.step``): it becomes a step (so a crashed instance unwinds there) and
        the cache-down fault applies to it, as it does to ``env.cache`` and the durable
        queues.

        Lua scripts take the same steps whether or not the server holds them already: the
        server's script cache outlives an example, so the example that first loads a
        script would otherwise take more steps (EVALSHA refused with NOSCRIPT, SCRIPT LOAD,
        EVALSHA again) than the same example replayed, and the replay would draw another
        schedule (Hypothesis: "inconsistent data generation"; the exhaustive search: "not
        available on replay"). So SCRIPT commands are not steps, and an EVALSHA of a
        script the server does not hold is refused with NOSCRIPT here, before its step and
        without being sent: the subject loads it and calls again, and only that call is a
        step, as on a replay."""
        if self.current is None:
            return
        import redis.exceptions

        faults, step, known = environment.faults, environment.step, self._scripts

        def held(sha: str) -> bool:
            if sha not in known and all(self._raw().script_exists(sha)):
                known.add(sha)
            return sha in known

        def interceptor(name: str, call: Callable[[], Any], commands: tuple[tuple[Any, ...], ...]) -> Any:
            if name.upper().startswith("SCRIPT"):
                if faults.cache_down:
                    raise StoreUnavailable(f"cache is down (injected fault) during redis {name}")
                result = call()
                # redis-py sends "SCRIPT LOAD" as one word; execute_command("SCRIPT", "LOAD", ...) as two.
                words = name.upper().split()
                sub = words[1] if len(words) > 1 else str(commands[0][1]).upper() if len(commands[0]) > 1 else ""
                if sub == "LOAD":
                    known.add(str(result))
                elif sub == "FLUSH":
                    known.clear()
                return result
            if not faults.cache_down and any(
                    str(command[0]).upper() in ("EVALSHA", "EVALSHA_RO") and not held(str(command[1]))
                    for command in commands):
                raise redis.exceptions.NoScriptError("No matching script. Please use EVAL.")
            step("redis", name, None)
            if faults.cache_down:
                raise StoreUnavailable(f"cache is down (injected fault) during redis {name}")
            return call()

        set_interceptor(self.current.redis, interceptor)

    def expression(self) -> Expr:
        """The `RedisBackend(...)` of a printed counterexample: the same server and database
        when they outlive the check, else what starts their like.

        * A redis-server this backend started is gone after the check: no `redis_url`, so
          the script starts its own (with the same `persistence`), or uses REDIS_URL.
        * A server or PostgreSQL database given by URL: that URL, unless it carries a
          password, which a counterexample (pasted into an issue) must not: then the line
          reads it from REDIS_URL / DATABASE_URL and a comment above it says so.
        * SQLite: no `database` for the temporary one; a file by its absolute path, so the
          script runs from any directory.
        """
        imports = ["from conformance.backends.harness import RedisBackend"]
        args: list[str] = []
        notes: list[str] = []

        def secret(value: str, variable: str, what: str) -> str:
            if urlsplit(value).password is None:
                return repr(value)
            imports.append("import os")
            notes.append(f"set {variable} to {what} the check used, {redact_url(value)} "
                         "(its password is not printed)")
            return f"os.environ[{variable!r}]"

        if not self._own_server and self.redis_url:
            args.append(f"redis_url={secret(self.redis_url, 'REDIS_URL', 'the Redis URL')}")
        elif self.persistence != "none":
            args.append(f"persistence={self.persistence!r}")
        database = self.database
        if database and database != "sqlite":
            if database.startswith(("postgresql://", "postgres://")):
                args.append(f"database={secret(database, 'DATABASE_URL', 'the database URL')}")
            else:
                path = database.removeprefix("sqlite:///")
                args.append(f"database={'sqlite:///' + os.path.abspath(path)!r}")
        return Expr(f"RedisBackend({', '.join(args)})", tuple(dict.fromkeys(imports)), tuple(notes))

    def _raw(self) -> Any:
        """The harness's own client: its commands are never steps."""
        assert self._clients is not None
        return self._clients[0]

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
