"""Correct in-memory implementations of the five policies, written only against the public
env contract (docs/ENVIRONMENT.md). Each factory is `factory(env) -> subject`:

    cache-conformance check implementations.memory:cache_aside --policy cache-aside

The algorithms, and why each satisfies its policy's contract, are in docs/IMPLEMENTATIONS.md.
"""

from __future__ import annotations

from typing import Any

from implementations import builtins
from implementations.memory.durable import DurableWriteBehind
from implementations.memory.invalidating import (
    CacheAside,
    ReadThrough,
    WriteAround,
    WriteThrough,
)
from implementations.memory.write_behind import WriteBehind

__all__ = [
    "write_through",
    "write_behind",
    "durable_write_behind",
    "write_around",
    "cache_aside",
    "read_through",
    "FACTORIES",
    "CacheAside",
    "DurableWriteBehind",
    "ReadThrough",
    "WriteAround",
    "WriteBehind",
    "WriteThrough",
]


def write_through(env: Any) -> WriteThrough:
    """Write-through: DB first, then the cache entry is replaced by a guarded refill."""
    return WriteThrough(env)


def write_behind(env: Any) -> WriteBehind:
    """Volatile write-behind: buffered, coalesced, flushed in batches by a worker."""
    return WriteBehind(env)


def durable_write_behind(env: Any) -> DurableWriteBehind:
    """Write-behind over `env.durable_queue`: no acknowledged write is lost on a crash."""
    return DurableWriteBehind(env)


def write_around(env: Any) -> WriteAround:
    """Write-around: writes go to the DB (and invalidate); reads fill with `fill_ttl`."""
    return WriteAround(env)


def cache_aside(env: Any) -> CacheAside:
    """Cache-aside: DB then delete; misses fill under a lease."""
    return CacheAside(env)


def read_through(env: Any) -> ReadThrough:
    """Read-through: a loader fills misses under a lease; writes are write-through."""
    return ReadThrough(env)


# Which policy each built-in conforms to: implementations.builtins is the table; this view
# keys it by factory name, with the factory itself.
FACTORIES: dict[str, tuple[str, Any]] = {
    target.rpartition(":")[2]: (policy, globals()[target.rpartition(":")[2]])
    for target, policy in builtins.MEMORY
}
