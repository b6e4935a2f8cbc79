"""Seed 000 (000_77fdd60a1e435bec.txt), "Write-Through vs Write-Behind Caching: When Every
Millisecond Counts".

The article shows no code; it gives each algorithm as a flow, and its "Takeaway Challenge"
asks the reader to build exactly these two:

* "Write-Through (write to Redis and DB together)", whose flow in "What Is Write-Through
  Caching? / How it works" is: write to cache, then immediately write to the database, then
  respond;
* "Write-Behind (write to Redis + queue -> async worker -> DB)", done as in "Trivia Time!":
  "In Redis, you can simulate Write-Behind using `LIST + Worker` pattern".

Where the article is silent we take the plainest reading and say so: no TTL on cache entries
(none is mentioned); reads check the cache, then the DB, and fill the cache on a miss; the
worker pops an item with BRPOP and then writes it to the DB, retrying a failed DB write
("You have a solid retry mechanism", "No retry logic = stale database") while it holds the
popped item in memory.

Factories: `write_through`, `write_behind` (in-memory env contract, the list is
`env.durable_queue`), `write_behind_redis` (a real Redis LIST, `--backend redis`).
"""

from __future__ import annotations

import json
from typing import Any

from ._stores import (
    STORE_ERRORS,
    ListCommands,
    MemoryCommands,
    RedisCommands,
    fill_from_db,
    pop_blocking,
)

__all__ = [
    "LIST_NAME",
    "RETRY_DELAY_S",
    "WriteThrough",
    "ListWorkerWriteBehind",
    "write_through",
    "write_behind",
    "write_behind_redis",
]

LIST_NAME = "write-behind"
# The article names no delays. A worker waiting on BRPOP is polled every second, and a
# failed DB write is retried after one second.
BRPOP_POLL_S = 1.0
RETRY_DELAY_S = 1.0


class WriteThrough:
    """000 "What Is Write-Through Caching?": "Write to cache -> Immediately write to
    database -> Respond to user".

    Claimed: "Cache and DB are always in sync", "No data loss: If the system crashes, data
    is already in the DB". Cache first means a DB failure after the cache write leaves the
    cache serving a value the DB never got, and two writers can interleave their two steps.
    """

    def __init__(self, env: Any) -> None:
        self._cache = env.cache
        self._db = env.db

    def write(self, key: str, value: str) -> None:
        self._cache.set(key, value)
        self._db.put(key, value)

    def read(self, key: str) -> str | None:
        cached: str | None = self._cache.get(key)
        if cached is not None:
            return cached
        return fill_from_db(self._db, key, lambda value: self._cache.set(key, value))


class ListWorkerWriteBehind:
    """000 "What Is Write-Behind (Write-Back) Caching?" with "Trivia Time!"'s LIST + Worker:
    "Write to cache -> Add to background queue -> DB updated later (async)".

    write: SET the key, LPUSH `{key, value}`. Worker: BRPOP an item, write it to the DB,
    retry until the DB takes it. The item is off the list while it is being written, so a
    crash of the worker's process between the pop and the DB write loses it even though the
    list itself is durable ("Redis is preferred for Write-Behind because of durability
    features").
    """

    # The article's argument for Redis: the queue has durability features, so acknowledged
    # writes are supposed to survive a crash of the application.
    durable = True

    def __init__(self, env: Any, commands: ListCommands) -> None:
        self._env = env
        self._db = env.db
        self._redis = commands
        self._stopped = False
        # Items popped from the list and not yet in the DB: process memory, lost on a crash.
        self._in_hand: list[str] = []
        env.spawn(self._worker)

    def write(self, key: str, value: str) -> None:
        self._redis.set(key, value)
        self._redis.lpush(json.dumps({"key": key, "value": value}))

    def read(self, key: str) -> str | None:
        cached = self._redis.get(key)
        if cached is not None:
            return cached
        return fill_from_db(self._db, key, lambda value: self._redis.set(key, value))

    def _running(self) -> bool:
        return not self._stopped

    def _worker(self) -> None:
        clock = self._env.clock
        while True:
            if not self._in_hand:
                item = pop_blocking(self._redis, clock, BRPOP_POLL_S, self._running)
                if item is None:
                    return
                self._in_hand.append(item)
            try:
                self._write_in_hand()
            except STORE_ERRORS:
                clock.sleep(RETRY_DELAY_S)

    def _write_in_hand(self) -> None:
        while self._in_hand:
            parsed = json.loads(self._in_hand[0])
            self._db.put(parsed["key"], parsed["value"])
            self._in_hand.pop(0)

    def flush(self) -> None:
        """Drain the list in the caller, the worker's way: pop, then write to the DB. A DB
        error propagates; the popped item stays in process memory for the worker's retry."""
        self._write_in_hand()
        while (item := self._redis.rpop()) is not None:
            self._in_hand.append(item)
            self._write_in_hand()

    def close(self) -> None:
        self._stopped = True


def write_through(env: Any) -> WriteThrough:
    """000 write-through (cache, then DB) on the env contract."""
    return WriteThrough(env)


def write_behind(env: Any) -> ListWorkerWriteBehind:
    """000 write-behind, LIST + worker, on the env contract."""
    return ListWorkerWriteBehind(env, MemoryCommands(env, LIST_NAME))


def write_behind_redis(env: Any) -> ListWorkerWriteBehind:
    """000 write-behind on a real Redis LIST (`--backend redis`)."""
    return ListWorkerWriteBehind(env, RedisCommands(env, LIST_NAME))
