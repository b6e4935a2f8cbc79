"""Seed 002 (002_7f92997e02c72ddd.txt), "Write-Through vs Write-Back Caching: Consistency,
Performance, and Trade-Offs".

Line-for-line ports of its three Python classes, from the sections "Write-Through Caching /
How It Works" (`WriteThroughCache`), "Write-Back (Write-Behind) Caching / How It Works"
(`WriteBackCache`) and "Write-Around Caching / How It Works" (`WriteAroundCache`).
`self.cache` is `env.cache`, `self.database.save` is `env.db.put`.

The one change of mechanism: `WriteBackCache`'s `queue.Queue` + daemon `threading.Thread`
become a process-memory deque and an `env.spawn` worker; `dirty_queue.get(timeout=1)`
becomes "take the oldest item, or sleep 1 s on the env clock and look again". The queue stays
in process memory, so a crash loses it, as the original's does.

Factories: `write_through`, `write_back`, `write_around`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ._stores import fill_from_db

__all__ = [
    "BATCH_SIZE",
    "GET_TIMEOUT_S",
    "FILL_TTL_S",
    "WriteThroughCache",
    "WriteBackCache",
    "WriteAroundCache",
    "write_through",
    "write_back",
    "write_around",
]

BATCH_SIZE = 100  # `if len(batch) >= 100`
GET_TIMEOUT_S = 1.0  # `self.dirty_queue.get(timeout=1)`
FILL_TTL_S = 300  # WriteAroundCache.read: `self.cache.set(key, value, ttl=300)`


class WriteThroughCache:
    """002 `WriteThroughCache`: DB save, then cache set (no TTL); reads fill on a miss.

    Claimed: "This ensures the cache is always consistent with the database", "Strong
    consistency: The cache always reflects the latest data in the database". Nothing orders
    two writers' cache sets, and a reader's miss fill (also without TTL) can overwrite a
    newer value forever.
    """

    def __init__(self, env: Any) -> None:
        self.cache = env.cache
        self.database = env.db

    def write(self, key: str, value: str) -> None:
        # Step 1: Write to database first
        self.database.put(key, value)
        # Step 2: Update cache with same value
        self.cache.set(key, value)

    def read(self, key: str) -> str | None:
        value: str | None = self.cache.get(key)
        if value is not None:
            return value  # Cache hit
        return fill_from_db(self.database, key, lambda found: self.cache.set(key, found))


class WriteBackCache:
    """002 `WriteBackCache`: cache set, then `dirty_queue.put((key, value))`; a daemon thread
    batches up to 100 items and `_flush_batch` saves them one by one.

    No retry: a DB error inside `_flush_batch` is not `queue.Empty`, so it escapes
    `flush_loop` and the daemon thread dies. The rest of its batch is lost, and nothing
    flushes later writes ever again. The original has no flush method; neither has the port.
    Its read ("Cache always has latest data") falls back to the DB after an eviction or a
    cache restart, where the pending value is not.
    """

    def __init__(self, env: Any) -> None:
        self._env = env
        self.cache = env.cache
        self.database = env.db
        self.dirty_queue: deque[tuple[str, str]] = deque()
        self._stopped = False
        self._start_flush_worker()

    def write(self, key: str, value: str) -> None:
        # Write to cache only — returns immediately
        self.cache.set(key, value)
        # Queue for async database write
        self.dirty_queue.append((key, value))

    def read(self, key: str) -> str | None:
        value: str | None = self.cache.get(key)
        if value is not None:
            return value
        return fill_from_db(self.database, key, lambda found: self.cache.set(key, found))

    def _get(self) -> tuple[str, str] | None:
        """`dirty_queue.get(timeout=1)`; None stands for `queue.Empty`."""
        if not self.dirty_queue:
            self._env.clock.sleep(GET_TIMEOUT_S)
        if not self.dirty_queue:
            return None
        return self.dirty_queue.popleft()

    def _start_flush_worker(self) -> None:
        def flush_loop() -> None:
            batch: list[tuple[str, str]] = []
            try:
                while not self._stopped:
                    item = self._get()
                    if item is not None:
                        batch.append(item)
                        if len(batch) >= BATCH_SIZE:
                            self._flush_batch(batch)
                            batch = []
                    elif batch:
                        self._flush_batch(batch)
                        batch = []
            except Exception:
                # The exception escapes `flush_loop`; Python prints it and the daemon thread
                # is gone, with its batch.
                return

        self._env.spawn(flush_loop)

    def _flush_batch(self, batch: list[tuple[str, str]]) -> None:
        for key, value in batch:
            self.database.put(key, value)

    def close(self) -> None:
        # A daemon thread is simply abandoned at interpreter exit; pending items are lost.
        self._stopped = True


class WriteAroundCache:
    """002 `WriteAroundCache`: DB save, then cache delete ("Invalidate cache to prevent stale
    reads"); a miss fills the cache with TTL 300.

    The seed itself says this "is essentially the cache-aside pattern with explicit
    invalidation on writes". A reader that read the DB before a write and fills after the
    write's delete leaves the old value cached for up to 300 s.
    """

    def __init__(self, env: Any) -> None:
        self.cache = env.cache
        self.database = env.db

    def write(self, key: str, value: str) -> None:
        # Write only to database
        self.database.put(key, value)
        # Invalidate cache to prevent stale reads
        self.cache.delete(key)

    def read(self, key: str) -> str | None:
        value: str | None = self.cache.get(key)
        if value is not None:
            return value
        # Cache miss — populate from DB
        return fill_from_db(
            self.database, key, lambda found: self.cache.set(key, found, ttl=FILL_TTL_S)
        )


def write_through(env: Any) -> WriteThroughCache:
    """002 WriteThroughCache."""
    return WriteThroughCache(env)


def write_back(env: Any) -> WriteBackCache:
    """002 WriteBackCache (queue + daemon flush thread, batch 100, no retry)."""
    return WriteBackCache(env)


def write_around(env: Any) -> WriteAroundCache:
    """002 WriteAroundCache (DB + delete, fill with TTL 300)."""
    return WriteAroundCache(env)
