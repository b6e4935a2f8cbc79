"""Mutants of the synchronous policies (write-through, cache-aside, write-around,
read-through): each is the correct implementation with exactly one step broken.

Each factory's docstring names the bug, the clause it breaks and what it takes to see it;
`catalog.MUTANTS` records the same for the tests and the docs.
"""

from __future__ import annotations

from typing import Any

from implementations.mutants.base import WithoutDelete
from implementations.memory.invalidating import CacheAside, ReadThrough, WriteAround, WriteThrough
from implementations.memory.leases import STORE_ERRORS, LeasedCache, Loader

__all__ = [
    "write_through_cache_first",
    "write_through_swallows_db_error",
    "write_through_set_race",
    "cache_aside_no_invalidation",
    "cache_aside_unguarded_fill",
    "cache_aside_delete_before_db",
    "write_around_fill_without_ttl",
    "read_through_fill_without_ttl",
    "write_through_delete_keeps_entry",
]


class _CacheFirst(WithoutDelete, WriteThrough):  # type: ignore[misc]
    def write(self, key: str, value: str) -> None:
        self._leases.store(key, value)  # BUG: the cache shows the value before the DB has it
        self._put(key, value)


def write_through_cache_first(env: Any) -> WriteThrough:
    """Write-through that sets the cache *before* the DB. When the DB write then fails, the
    cache serves a value the DB never got (and once the entry goes, reads go back to the
    older value). Breaks no-phantom (db-down, write, read)."""
    return _CacheFirst(env)


class _SwallowsDbError(WithoutDelete, WriteThrough):  # type: ignore[misc]
    def write(self, key: str, value: str) -> None:
        try:
            self._db.put(key, value)
        except STORE_ERRORS:
            pass  # BUG: acknowledged although the DB did not take it
        self._leases.store(key, value)


def write_through_swallows_db_error(env: Any) -> WriteThrough:
    """Write-through that catches the DB's error, updates the cache and acknowledges the
    write anyway. Breaks durable-on-ack (db-down)."""
    return _SwallowsDbError(env)


class _SetRace(WithoutDelete, WriteThrough):  # type: ignore[misc]
    def _after_put(self, key: str, value: str) -> None:
        # BUG: a plain set of the written value. Two writers can put a then b in the DB and
        # set b then a in the cache: the cache keeps a, the DB b.
        self._leases.store(key, value)


def write_through_set_race(env: Any) -> WriteThrough:
    """Write-through as the seeds write it: DB first, then `cache.set(value)`. Correct with
    one client; two concurrent writers can interleave DB-a, DB-b, set-b, set-a and leave the
    cache holding a while the DB holds b. Breaks linearizable-reads (clients=2)."""
    return _SetRace(env)


class _NoInvalidation(WithoutDelete, CacheAside):  # type: ignore[misc]
    def _after_put(self, key: str, value: str) -> None:
        pass  # BUG: the cached entry is left as it was


def cache_aside_no_invalidation(env: Any) -> CacheAside:
    """Cache-aside that updates the DB and forgets to delete the entry: a read after the
    write still hits the old value, until the TTL. Breaks linearizable-reads (no fault)."""
    return _NoInvalidation(env)


class _UnguardedLeases(LeasedCache):
    def lookup(self, key: str, load: Loader) -> str | None:
        if key in self._suspect and not self.invalidate(key):
            return load(key)
        try:
            cached = self._cache.get(key)
        except STORE_ERRORS:
            return load(key)
        if cached is not None:
            return cached
        value = load(key)
        if value is not None:
            try:
                # BUG: no lease. A writer's DB update and delete can both fall between our
                # DB read and this set, which then stores the old value after the delete.
                self._cache.set(key, value, ttl=self.ttl)
            except STORE_ERRORS:
                pass
        return value


class _UnguardedFill(WithoutDelete, CacheAside):  # type: ignore[misc]
    leases_class = _UnguardedLeases


def cache_aside_unguarded_fill(env: Any) -> CacheAside:
    """Cache-aside whose miss path is get, DB read, set: the "small gap" of seed 004. A reader
    racing a writer stores the value it read before the writer's delete, and it stays for
    the whole TTL. Breaks linearizable-reads (clients=2: a reader racing a writer)."""
    return _UnguardedFill(env)


class _DeleteBeforeDb(WithoutDelete, CacheAside):  # type: ignore[misc]
    def write(self, key: str, value: str) -> None:
        self._leases.invalidate(key)  # BUG: deleted first; a read can refill the old value
        self._put(key, value)


def cache_aside_delete_before_db(env: Any) -> CacheAside:
    """Cache-aside that deletes the entry before writing the DB. A reader between the two
    steps misses, reads the old DB value and fills it (its lease is intact: no delete comes
    after), so the old value is served after the write returned. Breaks linearizable-reads
    (clients=2: a reader between the writer's two steps)."""
    return _DeleteBeforeDb(env)


class _FillsForever(LeasedCache):
    def _fill(self, key: str, token: str, load: Loader) -> str | None:
        value = load(key)
        if value is not None:
            try:
                self._cache.cas(key, token, value)  # BUG: no TTL
            except STORE_ERRORS:
                pass
        return value


class _NoTtlWriteAround(WithoutDelete, WriteAround):  # type: ignore[misc]
    leases_class = _FillsForever

    def _after_put(self, key: str, value: str) -> None:
        pass  # write-around proper: the cache is not touched (allowed, bounded by the TTL)


def write_around_fill_without_ttl(env: Any) -> WriteAround:
    """Write-around that does not invalidate (allowed: staleness is bounded by the fill
    TTL) but fills without a TTL, while still declaring `fill_ttl`. A filled value outlives
    any later write for ever. Breaks bounded-staleness, or convergence at the end of a run."""
    return _NoTtlWriteAround(env)


class _NoTtlReadThrough(WithoutDelete, ReadThrough):  # type: ignore[misc]
    leases_class = _FillsForever


def read_through_fill_without_ttl(env: Any) -> ReadThrough:
    """Read-through whose loader stores values without a TTL. Correct until a cache fault
    makes an invalidation fail and the instance that knew dies (crash): the stale entry then
    never ends. Breaks convergence (cache-down, write, cache-up, crash)."""
    return _NoTtlReadThrough(env)


class _DeleteKeepsEntry(WriteThrough):
    def delete(self, key: str) -> None:
        self._db.delete(key)  # BUG: the cache entry the write refreshed stays


def write_through_delete_keeps_entry(env: Any) -> WriteThrough:
    """Write-through whose delete removes the DB row but not the cache entry: reads keep
    returning the deleted value from the cache until its TTL ends. Breaks
    linearizable-reads (write, delete, read)."""
    return _DeleteKeepsEntry(env)
