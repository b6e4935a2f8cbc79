"""Seed 003 (003_93d7498de8c82b72.txt), "Write-Through Cache: The Art of Writing Everywhere
at Once".

The article gives pseudo-code, ported here step for step:

* `cache_first` — "Implementation Challenge: The Code Pattern", the first `saveUser`:
  `cache.set`, then `database.update`; any error is `handleWriteFailure` (undefined, so no
  rollback) and a failure result.
* `db_first` — the same section's "Better Implementation": `database.update`, then
  `cache.set`; a DB error aborts, a cache error is logged and the write succeeds ("Cache
  write failure is tolerable - next read fetches from DB").
* `fail_fast`, `db_fallback`, `retry_queue` — "Investigation: The Cache Failure Resilience",
  the three options of its "Best Practice Implementation" around `cache.write(key, data)`,
  where the cache is the write gateway of "Write-Through Flow: The Digital Version" (store in
  cache, then write to the DB):
  1. fail the write (`throw new ServiceUnavailableException()`);
  2. write to the DB only ("risk stale cache"); "Schedule cache clear/refresh" is a comment
     in the seed, with no code, so nothing is scheduled;
  3. `retryQueue.add(writeOperation)`: the write is acknowledged and retried later. The seed
     gives no retry schedule; we retry the whole gateway write every second, from a queue in
     process memory.

Reads follow the cheat sheet's "Read Path: Check cache -> Miss? -> Read DB -> Update cache".
For the two options that keep working while the cache is down, a cache error on a read falls
back to the DB, as "Scenario 2: Fallback to database" describes ("Success! But reads are
slower"). No TTL appears anywhere in the seed's code, so none is set.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ._stores import STORE_ERRORS, fill_from_db

__all__ = [
    "RETRY_INTERVAL_S",
    "CacheFirst",
    "DbFirst",
    "ResilientWriteThrough",
    "cache_first",
    "db_first",
    "fail_fast",
    "db_fallback",
    "retry_queue",
]

RETRY_INTERVAL_S = 1.0  # not in the seed: "Option 3: Queue for retry" gives no schedule


class _ReadPath:
    """"Read Path: Check cache -> Miss? -> Read DB -> Update cache"."""

    # Whether a cache error on a read falls back to the DB (Scenario 2) or escapes.
    reads_survive_cache_faults = False

    def __init__(self, env: Any) -> None:
        self.cache = env.cache
        self.database = env.db

    def read(self, key: str) -> str | None:
        try:
            value: str | None = self.cache.get(key)
        except STORE_ERRORS:
            if not self.reads_survive_cache_faults:
                raise
            result: str | None = self.database.get(key)
            return result
        if value is not None:
            return value
        return fill_from_db(self.database, key, lambda found: self.cache.set(key, found))


class CacheFirst(_ReadPath):
    """003 `saveUser`, first version: cache, then DB. "What happens if the cache write
    succeeds but the database write fails?" — the seed's own answer: "INCONSISTENCY!"."""

    def write(self, key: str, value: str) -> None:
        # Step 1: Write to cache first (or simultaneously)
        self.cache.set(key, value)
        # Step 2: Write to database; an error here is `handleWriteFailure(error)` (not
        # shown: no rollback of step 1) and `return failure`.
        self.database.put(key, value)


class DbFirst(_ReadPath):
    """003 "Better Implementation": DB, then cache; a cache error is logged, and success.

    Claimed: "Database is source of truth - write there first", "Cache write failure is
    tolerable - next read fetches from DB". The next read fetches from the DB only if the
    cache holds nothing for the key; after a failed `cache.set` it may still hold the
    previous value, which no TTL ever removes. Two writers can also leave cache != DB.
    """

    def write(self, key: str, value: str) -> None:
        # Step 1: Write to DATABASE first (source of truth); an error aborts the operation.
        self.database.put(key, value)
        try:
            # Step 2: Then write to cache
            self.cache.set(key, value)
        except STORE_ERRORS:
            # log.warning("Cache write failed, data in DB"); return success
            pass


class ResilientWriteThrough(_ReadPath):
    """003 "Best Practice Implementation": the gateway write (cache, then DB) with one of
    the three options for a cache write that fails."""

    OPTIONS = ("fail-fast", "db-fallback", "retry-queue")

    def __init__(self, env: Any, option: str) -> None:
        if option not in self.OPTIONS:
            raise ValueError(f"unknown cache-failure option {option!r}; one of {self.OPTIONS}")
        super().__init__(env)
        self._env = env
        self.option = option
        self.reads_survive_cache_faults = option != "fail-fast"
        # `retryQueue`: process memory, lost with the process.
        self.retry_queue: deque[tuple[str, str]] = deque()
        self._stopped = False
        if option == "retry-queue":
            env.spawn(self._retry_worker)

    def _through(self, key: str, value: str) -> None:
        # "1. Store $150 in cache", "2. -> Write to Database"
        self.cache.set(key, value)
        self.database.put(key, value)

    def write(self, key: str, value: str) -> None:
        try:
            self.cache.set(key, value)
        except STORE_ERRORS:
            # log.error("Cache unavailable: " + e); metrics.increment(...)
            if self.option == "fail-fast":
                raise  # Option 1: throw new ServiceUnavailableException()
            if self.option == "db-fallback":
                # Option 2: Write to DB only (risk stale cache)
                self.database.put(key, value)
                return
            # Option 3: Queue for retry; the caller is told nothing went wrong.
            self.retry_queue.append((key, value))
            return
        self.database.put(key, value)

    def _retry_worker(self) -> None:
        while not self._stopped:
            self._env.clock.sleep(RETRY_INTERVAL_S)
            while self.retry_queue:
                key, value = self.retry_queue[0]
                try:
                    self._through(key, value)
                except STORE_ERRORS:
                    break  # still failing: try again next interval
                self.retry_queue.popleft()

    def close(self) -> None:
        self._stopped = True


def cache_first(env: Any) -> CacheFirst:
    """003 write-through, cache first."""
    return CacheFirst(env)


def db_first(env: Any) -> DbFirst:
    """003 write-through, DB first (the "Better Implementation")."""
    return DbFirst(env)


def fail_fast(env: Any) -> ResilientWriteThrough:
    """003 cache-failure option 1: fail the write."""
    return ResilientWriteThrough(env, "fail-fast")


def db_fallback(env: Any) -> ResilientWriteThrough:
    """003 cache-failure option 2: write to the DB only."""
    return ResilientWriteThrough(env, "db-fallback")


def retry_queue(env: Any) -> ResilientWriteThrough:
    """003 cache-failure option 3: queue the write for a retry."""
    return ResilientWriteThrough(env, "retry-queue")
