"""Policy implementations on Redis (``--backend redis``): atomic Lua steps, versioned and
ticket-guarded fills, and a durable write-behind on Redis Streams.

Importable as ``implementations.redis:write_through`` and so on. They need
``env.redis`` and ``env.redis_keys`` (docs/REDIS.md) besides the public env contract.
"""

from implementations.redis.synchronous import (
    CacheAside,
    ReadThrough,
    WriteAround,
    WriteThrough,
    cache_aside,
    read_through,
    write_around,
    write_through,
)
from implementations.redis.eviction import EvictionUnsafe
from implementations.redis.write_behind import WriteBehind, write_behind

__all__ = [
    "write_through", "write_behind", "write_around", "cache_aside", "read_through",
    "WriteThrough", "WriteBehind", "WriteAround", "CacheAside", "ReadThrough",
    "EvictionUnsafe",
]
