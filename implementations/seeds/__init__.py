"""Faithful ports of the systems in the seed documents (../shared/seeds/), mistakes included.

Each module ports one seed; `catalog.SYSTEMS` lists every factory with the policy its seed
claims for it. They are subjects like any third party's: they use only the public env
contract (docs/ENVIRONMENT.md), plus `env.redis` for the `*_redis` factories.

    000 millisecond   write-through (cache first), write-behind as a Redis LIST + worker
    001 poc62         WriteThroughCache, WriteBehindCache, DurableWriteBehind
    002 tradeoffs     WriteThroughCache, WriteBackCache, WriteAroundCache
    003 dual_ledger   write-through cache-first, DB-first, and three cache-failure options
    004 quick_recap   cache-aside, read-through + write-through, coalescing write-back
"""

from .catalog import SYSTEMS, SeedSystem, find, load_factory, systems

__all__ = ["SYSTEMS", "SeedSystem", "find", "load_factory", "systems"]
