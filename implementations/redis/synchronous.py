"""The synchronous policies on Redis: write-through, read-through, cache-aside,
write-around."""

from __future__ import annotations

from typing import Any

from implementations.redis._base import DEFAULT_TTL, RedisSubject

__all__ = ["WriteThrough", "ReadThrough", "CacheAside", "WriteAround",
           "write_through", "read_through", "cache_aside", "write_around"]


class WriteThrough(RedisSubject):
    """DB first (versioned), then the cache entry, each write bracketed by BEGIN/END."""

    def write(self, key: str, value: str) -> None:
        self._write_synchronously(key, value, "set")


class ReadThrough(WriteThrough):
    """Read-through loading (guarded fills on a miss) paired with write-through writes:
    the loader is the same guarded READ/FILL path."""


class CacheAside(RedisSubject):
    """Writes go to the DB and invalidate; readers fill on a miss with a version ticket,
    so a fill that raced a write is refused (the stale-fill race of the seeds)."""

    def write(self, key: str, value: str) -> None:
        self._write_synchronously(key, value, "drop")


class WriteAround(RedisSubject):
    """Writes go to the DB only; reads fill absent entries with a TTL (compare-and-set
    on absence, so a slower reader never overwrites a fresher fill). A read may lag the
    DB by at most the TTL: the write-around staleness clause."""

    def write(self, key: str, value: str) -> None:
        self.env.db.put(key, value)

    def read(self, key: str) -> str | None:
        try:
            cached = self.env.cache.get(key)
        except (ConnectionError, TimeoutError):
            return self.env.db.get(key)
        if cached is not None:
            return cached
        value = self.env.db.get(key)
        if value is not None:
            try:
                self.env.cache.cas(key, None, value, ttl=self.ttl)
            except (ConnectionError, TimeoutError):
                pass
        return value


def write_through(env: Any) -> WriteThrough:
    return WriteThrough(env)


def read_through(env: Any) -> ReadThrough:
    return ReadThrough(env)


def cache_aside(env: Any) -> CacheAside:
    return CacheAside(env)


def write_around(env: Any, ttl: float = DEFAULT_TTL) -> WriteAround:
    return WriteAround(env, ttl=ttl)
