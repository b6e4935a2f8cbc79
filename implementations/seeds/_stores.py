"""The handful of Redis commands the seeds call directly, over two backends.

Seeds 000 and 001 talk to Redis with SETEX, GET, LPUSH and BRPOP. Each of their algorithms is
written once, against the small `RedisCommands` surface below, and runs on either:

* `MemoryCommands` — the public env contract only: `env.cache` for keys, `env.durable_queue`
  for the list (it lives with the cache server and survives an application crash, as a Redis
  list does);
* `RedisCommands` — keys on `env.cache` too (see `_CacheCommands` for why), the list as a
  real Redis LIST on the raw `env.redis` client (redis.Redis, decode_responses=True),
  available with `--backend redis` only.

BRPOP blocks inside the Redis server; a subject may wait only through `env.clock.sleep`, so a
blocking pop is a non-blocking pop that the caller repeats after a sleep (see `pop_blocking`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "STORE_ERRORS",
    "ListCommands",
    "MemoryCommands",
    "RedisCommands",
    "fill_from_db",
    "pop_blocking",
    "redis_client",
]

# Every store fault the env contract raises is one of these; implementations never import
# conformance (docs/ENVIRONMENT.md, "Errors a store call may raise").
STORE_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)


class ListCommands(Protocol):
    """SETEX/SET/GET on keys and LPUSH/RPOP on one list: what the seeds use of Redis."""

    def setex(self, key: str, seconds: float, value: str) -> None: ...

    def set(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...

    def lpush(self, item: str) -> None: ...

    def rpop(self) -> str | None: ...


class _CacheCommands:
    """SETEX, SET and GET on `env.cache`, on both backends.

    With `--backend redis` the harness's `env.cache` *is* the Redis server, with TTLs on the
    harness's virtual clock; a raw SETEX through `env.redis` would expire in wall-clock time,
    out of the harness's sight (evictions, restarts, clock advances). So keys go through
    `env.cache` everywhere and only the list uses `env.redis` directly.
    """

    def __init__(self, env: Any) -> None:
        self._cache = env.cache

    def setex(self, key: str, seconds: float, value: str) -> None:
        self._cache.set(key, value, ttl=seconds)

    def set(self, key: str, value: str) -> None:
        self._cache.set(key, value)

    def get(self, key: str) -> str | None:
        value: str | None = self._cache.get(key)
        return value


class MemoryCommands(_CacheCommands):
    """The list over `env.durable_queue(list_name)`.

    LPUSH adds at the head and RPOP takes from the tail, so the list is FIFO: the durable
    queue's `push` and oldest-first `peek`/`ack` give the same order. Redis runs RPOP as one
    atomic command; here it is `peek(1)` then `ack(1)`, so it is done under `env.lock()` to
    keep two workers from taking the same item (and one of them acknowledging another).
    """

    def __init__(self, env: Any, list_name: str) -> None:
        super().__init__(env)
        self._env = env
        self._list_name = list_name
        self._queue: Any = None  # opened on first use: write-through ports never touch it
        self._pop_lock: Any = None

    def _list(self) -> Any:
        if self._queue is None:
            self._queue = self._env.durable_queue(self._list_name)
            self._pop_lock = self._env.lock()
        return self._queue

    def lpush(self, item: str) -> None:
        self._list().push(item)

    def rpop(self) -> str | None:
        queue = self._list()
        with self._pop_lock:
            items = queue.peek(1)
            if not items:
                return None
            queue.ack(1)
            return items[0]


class RedisCommands(_CacheCommands):
    """The list as a real Redis LIST through `env.redis`: LPUSH and an atomic RPOP.

    The list's name is put in the run's namespace (`env.redis_keys`) when the backend
    provides one, so that concurrent runs never share a list.
    """

    def __init__(self, env: Any, list_name: str) -> None:
        super().__init__(env)
        self._redis = redis_client(env)
        keys = getattr(env, "redis_keys", None)
        self._list = keys.queue(f"list:{list_name}") if keys is not None else list_name

    def lpush(self, item: str) -> None:
        self._redis.lpush(self._list, item)

    def rpop(self) -> str | None:
        item: str | None = self._redis.rpop(self._list)
        return item


def redis_client(env: Any) -> Any:
    """`env.redis`, or a one-line error saying which backend provides it."""
    client = getattr(env, "redis", None)
    if client is None:
        raise RuntimeError(
            "this seed port talks to Redis directly: run it with --backend redis "
            "(env.redis is missing on the in-memory backend)"
        )
    return client


def pop_blocking(
    commands: ListCommands, clock: Any, poll_seconds: float, running: Callable[[], bool]
) -> str | None:
    """BRPOP with timeout 0 (wait forever), as a pop retried after `clock.sleep`.

    The only difference from BRPOP is latency: an item pushed while the worker sleeps waits
    for the end of the sleep. The item is removed from the list before the caller has done
    anything with it, exactly as with BRPOP. Returns None once `running()` is false (the
    subject was closed), so that a closed subject's worker ends.
    """
    while running():
        item = commands.rpop()
        if item is not None:
            return item
        clock.sleep(poll_seconds)
    return None


def fill_from_db(db: Any, key: str, fill: Callable[[str], None]) -> str | None:
    """The miss path every seed shares: read the DB and, when it has the key, fill the cache.

    No seed guards the fill (no lease, no version, no compare-and-set): a fill that read the
    DB before a concurrent write can land after that write's cache update or invalidation.
    """
    value: str | None = db.get(key)
    if value is not None:
        fill(value)
    return value
