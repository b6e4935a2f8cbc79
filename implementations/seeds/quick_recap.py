"""Seed 004 (004_cdb1890068b62b4d.txt), "Write-Through vs Write-Back" ("Reads are easy.
Writes are where caching patterns split apart.").

The article describes three algorithms in prose; each port takes the sentences literally:

* `cache_aside` — "A quick recap of cache-aside": read the cache, on a miss read the DB
  "then you store the answer in the cache"; on a write "update the database. Then you delete
  the matching cache entry". "It survives cache failures. Things just get slower if the
  cache is down": a read whose cache call fails goes to the DB, and a write whose delete
  fails still succeeds (the DB has the value).
* `read_through` — "Write-through. Update both at the same time", "often paired with
  'read-through', where the cache fetches from the database on a miss": a write goes "to the
  cache AND the database" in that order, and "If the cache is down, the write fails".
* `write_back` — "Write-back. Write fast now, save later": "the write only goes to the
  cache", "A background job pushes the data to the database later", and "If the same key is
  written 100 times before the next flush, only the final value goes to disk". The data
  lives only in the cache; the job remembers which keys are dirty (process memory) and, at
  each flush, copies the cache's current value of each to the DB.

No TTL, interval or retry is given; we set no TTL, run the write-back job every 5 s (001's
interval) and, as the text describes no failure handling, retry nothing.
"""

from __future__ import annotations

from typing import Any

from ._stores import STORE_ERRORS, fill_from_db

__all__ = [
    "FLUSH_INTERVAL_S",
    "CacheAside",
    "ReadThroughWriteThrough",
    "CoalescingWriteBack",
    "cache_aside",
    "read_through",
    "write_back",
]

FLUSH_INTERVAL_S = 5.0  # not in the seed; 001's interval


class _Stores:
    def __init__(self, env: Any) -> None:
        self.cache = env.cache
        self.database = env.db

    def _read_or_fill(self, key: str) -> str | None:
        # "On a read, you check the cache first. A hit returns instantly. A miss falls
        # through to the database. Then you store the answer in the cache."
        value: str | None = self.cache.get(key)
        if value is not None:
            return value
        return fill_from_db(self.database, key, lambda found: self.cache.set(key, found))


class CacheAside(_Stores):
    """004 cache-aside: DB then delete; fill on a miss; survives cache failures.

    Claimed: "It survives cache failures", and the gap is "small": "Between updating the
    database and clearing the cache, some readers can still see old data". A delete that
    fails leaves the old entry with no TTL, and a reader's fill that read the DB before the
    write can land after the delete: either way old data stays, not for a small gap.
    """

    def write(self, key: str, value: str) -> None:
        self.database.put(key, value)
        try:
            self.cache.delete(key)
        except STORE_ERRORS:
            pass  # "It survives cache failures."

    def read(self, key: str) -> str | None:
        try:
            return self._read_or_fill(key)
        except STORE_ERRORS:
            # "Things just get slower if the cache is down."
            value: str | None = self.database.get(key)
            return value


class ReadThroughWriteThrough(_Stores):
    """004 write-through paired with read-through: cache set, then DB; fill on a miss.

    Claimed: "The cache is always in sync with the database. There is no stale data. No
    invalidation step. Reads always hit the cache and always see fresh values."
    """

    def write(self, key: str, value: str) -> None:
        self.cache.set(key, value)  # "If the cache is down, the write fails."
        self.database.put(key, value)

    def read(self, key: str) -> str | None:
        return self._read_or_fill(key)


class CoalescingWriteBack(_Stores):
    """004 write-back: cache only; a background job copies dirty keys' cached values to the
    DB, so N writes of a key between flushes cost one DB write.

    The dirty set is process memory and the values live only in the cache: an eviction or a
    cache restart before the flush loses the write ("If the cache server crashes before it
    flushes, those writes are gone"), and so does an application crash. A flush that fails
    drops the keys it took.
    """

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._env = env
        self.dirty: dict[str, None] = {}  # insertion-ordered set of keys
        self._stopped = False
        env.spawn(self._job)

    def write(self, key: str, value: str) -> None:
        self.cache.set(key, value)
        self.dirty[key] = None

    def read(self, key: str) -> str | None:
        return self._read_or_fill(key)

    def flush(self) -> None:
        keys = list(self.dirty)
        self.dirty.clear()
        for key in keys:
            value = self.cache.get(key)
            if value is not None:  # evicted or lost with the cache: nothing to push
                self.database.put(key, value)

    def _job(self) -> None:
        while not self._stopped:
            self._env.clock.sleep(FLUSH_INTERVAL_S)
            try:
                self.flush()
            except STORE_ERRORS:
                pass  # no failure handling is described: the taken keys are dropped

    def close(self) -> None:
        self._stopped = True


def cache_aside(env: Any) -> CacheAside:
    """004 cache-aside."""
    return CacheAside(env)


def read_through(env: Any) -> ReadThroughWriteThrough:
    """004 read-through + write-through."""
    return ReadThroughWriteThrough(env)


def write_back(env: Any) -> CoalescingWriteBack:
    """004 write-back with coalescing."""
    return CoalescingWriteBack(env)
