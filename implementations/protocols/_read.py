"""The models' shared read path (model/protocols/reads.py, `cache_read(fill="set")`)."""

from __future__ import annotations

from typing import Any

__all__ = ["cache_read"]


def cache_read(env: Any, key: str, ttl: float | None) -> str | None:
    """`cache.get`; on a miss `db.get`, then `cache.set` of what it read: three store calls
    at most, exactly the model's `get`, `load`, `fill` steps.

    Store errors escape: the model's read fails when the DB is down, and cache faults are
    not modelled, so no fallback is invented here. The fill carries `ttl` although the models
    have no TTLs (TTL expiry is not a fault action there): the set is the same store call,
    and without a TTL an entry left stale would outlive every contract's allowance.
    """
    value: str | None = env.cache.get(key)
    if value is not None:
        return value
    loaded: str | None = env.db.get(key)
    if loaded is not None:  # an absent row has nothing to cache (the model fills "absent")
        env.cache.set(key, loaded, ttl=ttl)
    return loaded
