"""Seed 001 (001_221cefa396562003.txt), "POC #62: Write-Through vs Write-Behind Caching".

Ports of its three classes, from the sections "Implementation" (`WriteThroughCache`,
`WriteBehindCache`) and "Production Considerations / Write-Behind Durability"
(`DurableWriteBehind`). Same steps, same order, same constants, same mistakes.

What is deliberately not carried over, and why it changes nothing the suite checks:

* the key prefixes (`wt:session:`, `wb:session:`, `cache:`): the harness compares a cache
  entry with the DB row of the same key, so cache and DB keys must be equal. A prefix is
  kept as an optional argument for running beside other data on a shared Redis.
* `JSON.stringify`/`JSON.parse` of the value: values are strings here, for which the round
  trip is the identity, and the JS truthiness test `if (cached)` on a JSON text is true for
  every stored value, i.e. `is not None`.
* the SQL: the upsert is `env.db.put`; "BEGIN; upsert each entry; COMMIT" is the atomic
  `env.db.put_many`.

Factories: `write_through`, `write_behind`, `durable_write_behind` (in-memory env contract) and
`*_redis` (the same algorithms on `env.redis`, `--backend redis`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._stores import (
    ListCommands,
    MemoryCommands,
    RedisCommands,
    fill_from_db,
    pop_blocking,
)

__all__ = [
    "CACHE_TTL_S",
    "BATCH_SIZE",
    "FLUSH_INTERVAL_S",
    "QUEUE_NAME",
    "WriteThroughCache",
    "WriteBehindCache",
    "DurableWriteBehind",
    "write_through",
    "write_behind",
    "durable_write_behind",
    "write_through_redis",
    "write_behind_redis",
    "durable_write_behind_redis",
]

CACHE_TTL_S = 3600  # every `redis.setex(cacheKey, 3600, ...)` of the POC
BATCH_SIZE = 10  # `this.BATCH_SIZE = 10`
FLUSH_INTERVAL_S = 5.0  # `this.FLUSH_INTERVAL_MS = 5000`
QUEUE_NAME = "write-behind-queue"  # `redis.lpush('write-behind-queue', ...)`
# BRPOP(queue, 0) blocks until an item arrives; polled instead (see _stores.pop_blocking).
BRPOP_POLL_S = 1.0


class _SetexFill:
    """The POC's miss path: `redis.setex(cacheKey, 3600, JSON.stringify(data))`."""

    _redis: ListCommands

    def _filler(self, cache_key: str) -> Callable[[str], None]:
        return lambda data: self._redis.setex(cache_key, CACHE_TTL_S, data)


class WriteThroughCache(_SetexFill):
    """001 "Implementation", `class WriteThroughCache`.

    write: DB upsert first, then SETEX 3600. read: cache, else DB and SETEX 3600 ("Always read
    from cache (guaranteed fresh due to write-through)"). No lock, no version, no error
    handling: two writers can finish DB and cache in opposite orders, and a reader's fill can
    land after a writer's SETEX.
    """

    def __init__(self, env: Any, commands: ListCommands, prefix: str = "") -> None:
        self._db = env.db
        self._redis = commands
        self.prefix = prefix

    def write(self, key: str, value: str) -> None:
        cache_key = f"{self.prefix}{key}"
        # Step 1: Write to database first (synchronous)
        self._db.put(key, value)
        # Step 2: Write to cache (synchronous)
        self._redis.setex(cache_key, CACHE_TTL_S, value)

    def read(self, key: str) -> str | None:
        cache_key = f"{self.prefix}{key}"
        cached = self._redis.get(cache_key)
        if cached is not None:
            return cached
        # "Fallback to database if cache miss (rare - only if evicted)"
        return fill_from_db(self._db, key, self._filler(cache_key))


class WriteBehindCache(_SetexFill):
    """001 "Implementation", `class WriteBehindCache`.

    write: SETEX 3600, then `writeBuffer.set(key, {data, timestamp})` in process memory, and
    `await this.flush()` when the buffer holds BATCH_SIZE keys. A `setInterval` of 5 s
    flushes a non-empty buffer. flush: snapshot the entries, clear the buffer, then one
    transaction upserting them all; on a failure inside the transaction, ROLLBACK and
    re-queue the snapshot with `writeBuffer.set`, which overwrites any newer value buffered
    for the same key in the meantime. read: cache, then buffer, then DB (+ SETEX).

    The failure paths follow the JS exactly:

    * `pool.connect()` is outside the `try`: if the DB is down (the env raises
      `ConnectionError`), flush rejects after the buffer was cleared and the snapshot is
      gone — no re-queue.
    * a statement that fails on an open connection (the env's `TimeoutError`, whose outcome
      is ambiguous) goes through `catch`: ROLLBACK, re-queue, and flush resolves normally.
    * the interval callback's rejection is unhandled; the interval keeps firing (we model
      the Node behaviour without `--unhandled-rejections=strict`).
    * `write` awaits the flush it triggers, so a failed flush rejects that write after its
      value reached the cache.
    """

    def __init__(self, env: Any, commands: ListCommands, prefix: str = "") -> None:
        self._env = env
        self._db = env.db
        self._redis = commands
        self.prefix = prefix
        # `new Map()`: insertion-ordered, and `set` on an existing key keeps its position,
        # as a Python dict does.
        self.write_buffer: dict[str, dict[str, Any]] = {}
        self._stopped = False
        self._start_background_flush()

    def write(self, key: str, value: str) -> None:
        cache_key = f"{self.prefix}{key}"
        # Step 1: Write to cache immediately
        self._redis.setex(cache_key, CACHE_TTL_S, value)
        # Step 2: Queue for background database write
        self.write_buffer[key] = {"data": value, "timestamp": self._env.clock.now()}
        if len(self.write_buffer) >= BATCH_SIZE:
            self.flush()

    def _start_background_flush(self) -> None:
        def interval() -> None:
            while not self._stopped:
                self._env.clock.sleep(FLUSH_INTERVAL_S)
                if self._stopped:
                    return
                if self.write_buffer:
                    try:
                        self.flush()
                    except Exception:  # the unhandled rejection; setInterval fires again
                        pass

        self._env.spawn(interval)

    def flush(self) -> None:
        if not self.write_buffer:
            return
        entries = list(self.write_buffer.items())
        self.write_buffer.clear()
        try:
            # BEGIN; INSERT ... ON CONFLICT DO UPDATE for each entry; COMMIT
            self._db.put_many([(key, entry["data"]) for key, entry in entries])
        except TimeoutError:
            # catch: ROLLBACK; "Re-queue failed writes (in production, use a proper retry
            # mechanism)". Overwrites newer buffered values of the same keys.
            for key, entry in entries:
                self.write_buffer[key] = entry
        # ConnectionError is `pool.connect()` failing before the try: it propagates and the
        # cleared snapshot is lost.

    def read(self, key: str) -> str | None:
        cache_key = f"{self.prefix}{key}"
        cached = self._redis.get(cache_key)
        if cached is not None:
            return cached
        # Check write buffer (data not yet persisted)
        if key in self.write_buffer:
            buffered: str = self.write_buffer[key]["data"]
            return buffered
        return fill_from_db(self._db, key, self._filler(cache_key))

    def stop(self) -> None:
        """`stop()`: clearInterval, then a final flush."""
        self._stopped = True
        self.flush()

    close = stop


class DurableWriteBehind(_SetexFill):
    """001 "Production Considerations", `class DurableWriteBehind` ("For critical
    write-behind, persist queue to Redis").

    write: SETEX, then LPUSH `{key, data, timestamp}` on `write-behind-queue` ("Add to durable
    queue (survives process restart)"). processQueue: `while (true)`: BRPOP, then
    `persistToDatabase`. The item leaves the list before the DB has it, so a crash between
    the two loses an acknowledged write; and a DB error rejects `processQueue`, which ends
    the loop for good (nothing restarts it until the process restarts), with the popped
    item lost.

    Filled-in gaps: `TTL` is undefined in the snippet (we use the POC's 3600);
    `persistToDatabase` is not shown (an upsert, as in the POC); the class shows no `read`
    (we use the POC's: cache, then DB + SETEX). `flush()` runs processQueue's loop body until
    the list is empty, so the harness can ask for persistence; it pops before committing,
    as the worker does.
    """

    durable = True  # the seed's claim: the queue "survives process restart"

    def __init__(self, env: Any, commands: ListCommands, prefix: str = "") -> None:
        self._env = env
        self._db = env.db
        self._redis = commands
        self.prefix = prefix
        self._stopped = False
        env.spawn(self.process_queue)

    def write(self, key: str, value: str) -> None:
        self._redis.setex(f"{self.prefix}{key}", CACHE_TTL_S, value)
        item = {"key": key, "data": value, "timestamp": self._env.clock.now()}
        self._redis.lpush(json.dumps(item))

    def process_queue(self) -> None:
        try:
            while True:
                item = pop_blocking(self._redis, self._env.clock, BRPOP_POLL_S, self._running)
                if item is None:
                    return
                self._persist(item)
        except Exception:  # the rejected async loop: it stops and nobody restarts it
            return

    def _running(self) -> bool:
        return not self._stopped

    def _persist(self, item: str) -> None:
        parsed = json.loads(item)
        self._db.put(parsed["key"], parsed["data"])

    def flush(self) -> None:
        while (item := self._redis.rpop()) is not None:
            self._persist(item)

    def read(self, key: str) -> str | None:
        cache_key = f"{self.prefix}{key}"
        cached = self._redis.get(cache_key)
        if cached is not None:
            return cached
        return fill_from_db(self._db, key, self._filler(cache_key))

    def close(self) -> None:
        self._stopped = True


def write_through(env: Any) -> WriteThroughCache:
    """001 WriteThroughCache on the env contract."""
    return WriteThroughCache(env, MemoryCommands(env, QUEUE_NAME))


def write_behind(env: Any) -> WriteBehindCache:
    """001 WriteBehindCache on the env contract."""
    return WriteBehindCache(env, MemoryCommands(env, QUEUE_NAME))


def durable_write_behind(env: Any) -> DurableWriteBehind:
    """001 DurableWriteBehind on the env contract (the list is `env.durable_queue`)."""
    return DurableWriteBehind(env, MemoryCommands(env, QUEUE_NAME))


def write_through_redis(env: Any) -> WriteThroughCache:
    """001 WriteThroughCache on real Redis (`--backend redis`)."""
    return WriteThroughCache(env, RedisCommands(env, QUEUE_NAME))


def write_behind_redis(env: Any) -> WriteBehindCache:
    """001 WriteBehindCache on real Redis (`--backend redis`)."""
    return WriteBehindCache(env, RedisCommands(env, QUEUE_NAME))


def durable_write_behind_redis(env: Any) -> DurableWriteBehind:
    """001 DurableWriteBehind on real Redis: LPUSH, then RPOP polled as BRPOP."""
    return DurableWriteBehind(env, RedisCommands(env, QUEUE_NAME))
