"""The four synchronous policies: the DB is written first, then the cache entry is deleted;
reads fill the cache under a lease (see `leases`).

One algorithm, four contracts:

* cache-aside — the application's own read-fill / write-invalidate loop;
* write-around — the same, with the contract's weaker promise (staleness bounded by
  `fill_ttl`), which this algorithm over-delivers;
* write-through — after the DB, the cache is brought up to date (delete, then a guarded
  refill from the DB: a plain `set` of the written value would race another writer's set
  and leave the older one cached, see the mutant `write_through_set_race`);
* read-through — write-through writes, and misses go to a pluggable loader.

Why the writes are not versioned: `env.db.put` is atomic, so the last put is the write
that linearizes last. A version only helps when a put can be applied *late* (a retry, a
replay); none is here. A version derived from the clock would even be harmful: two
instances that write one after the other at the same virtual instant could order their
versions backwards, and the DB would silently drop an acknowledged write.
"""

from __future__ import annotations

from typing import Any

from implementations.memory.leases import LeasedCache

__all__ = [
    "DEFAULT_TTL",
    "DEFAULT_LEASE_TTL",
    "InvalidatingCache",
    "CacheAside",
    "WriteAround",
    "WriteThrough",
    "ReadThrough",
]

DEFAULT_TTL = 30.0
DEFAULT_LEASE_TTL = 5.0


class InvalidatingCache:
    """DB first, then invalidate; reads through a lease-guarded fill.

    Args:
        env: the environment (docs/ENVIRONMENT.md).
        ttl: TTL of every cached value.
        lease_ttl: TTL of a reader's lease marker.
    """

    # The cache-side protocol; a class attribute so a variant can swap it whole.
    leases_class: type[LeasedCache] = LeasedCache

    def __init__(self, env: Any, *, ttl: float = DEFAULT_TTL, lease_ttl: float = DEFAULT_LEASE_TTL) -> None:
        self._env = env
        self._db = env.db
        self._leases = self.leases_class(env, ttl=ttl, lease_ttl=lease_ttl)

    @property
    def ttl(self) -> float:
        return self._leases.ttl

    def _load(self, key: str) -> str | None:
        return self._db.get(key)

    def write(self, key: str, value: str) -> None:
        self._put(key, value)
        # The write is durable from here on; if the cache step fails (cache down) the entry
        # it left is stale for at most its TTL, and the write is still acknowledged.
        self._after_put(key, value)

    def _put(self, key: str, value: str) -> None:
        try:
            self._db.put(key, value)
        except TimeoutError:
            # The put may have committed: the cached value must not outlive it. A clean
            # ConnectionError means nothing happened, so the cache is left alone.
            self._leases.invalidate(key)
            raise

    def _after_put(self, key: str, value: str) -> None:
        """Bring the cache in line with the DB: here, delete the entry."""
        self._leases.invalidate(key)

    def delete(self, key: str) -> None:
        """Remove `key`: the DB row first, then the cache entry, as a write does.

        Not a refill, whatever the policy: there is nothing to cache. A fill racing the
        delete cannot put the old value back (its lease is gone with the entry, the same
        argument as for a write, `leases`); a cache that cannot be reached leaves the key
        suspect (read from the DB) and the entry stale for at most its TTL."""
        try:
            self._db.delete(key)
        except TimeoutError:
            # The delete may have committed: the cached value must not outlive it.
            self._leases.invalidate(key)
            raise
        self._leases.invalidate(key)

    def read(self, key: str) -> str | None:
        return self._leases.lookup(key, self._load)

    def flush(self) -> None:
        """Nothing is pending: every acknowledged write is already in the DB."""

    def close(self) -> None:
        """Nothing to release: this subject starts no worker."""


class CacheAside(InvalidatingCache):
    """Cache-aside: update the DB, delete the entry; fill on miss under a lease."""


class WriteAround(InvalidatingCache):
    """Write-around: writes bypass the cache (and invalidate it); reads fill with `fill_ttl`.

    The contract allows a read to lag the DB by up to `fill_ttl`; invalidating on write
    (and guarding fills) makes reads linearizable anyway, except after a cache fault, where
    the entry it left stays at most `fill_ttl`.
    """

    @property
    def fill_ttl(self) -> float:
        return self._leases.ttl


class WriteThrough(InvalidatingCache):
    """Write-through: DB first, then the cache is refreshed from the DB (guarded)."""

    def _after_put(self, key: str, value: str) -> None:
        if self._leases.invalidate(key):
            self._leases.refresh(key, self._load)


class ReadThrough(WriteThrough):
    """Read-through: a loader fills misses (guarded like every fill); writes are write-through.

    Args:
        loader: `key -> value | None`; defaults to `env.db.get`. It must read the same DB the
            writes go to, or reads cannot see writes.
    """

    def __init__(self, env: Any, *, loader: Any = None, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self._loader = loader if loader is not None else env.db.get

    def _load(self, key: str) -> str | None:
        return self._loader(key)
