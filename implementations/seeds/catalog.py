"""Which seed system each factory ports, which policy it claims, and where the seed says so.

One row per factory. `policy` is the policy the seed presents the system as (its name in
ARCHITECTURE.md's vocabulary), which is the contract the suite checks it against. The claims
themselves, quoted and with their evidence, are in `cache_conformance/claims/register.toml`; the
`claims` text here is a one-line reminder for the catalog's readers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["SeedSystem", "SYSTEMS", "SEED_FILES", "find", "load_factory", "systems"]

SEED_FILES = {
    "000": "000_77fdd60a1e435bec.txt",
    "001": "001_221cefa396562003.txt",
    "002": "002_7f92997e02c72ddd.txt",
    "003": "003_93d7498de8c82b72.txt",
    "004": "004_cdb1890068b62b4d.txt",
}


@attrs.frozen
class SeedSystem:
    """One ported system: `factory` is `module:function`, `backend` is memory or redis."""

    factory: str
    policy: str
    seed_file: str
    section: str
    backend: str
    claims: str

    @property
    def seed(self) -> str:
        """The seed's number, e.g. "001"."""
        return self.seed_file[:3]


def _row(
    seed: str, factory: str, policy: str, section: str, claims: str, *, backend: str = "memory"
) -> SeedSystem:
    return SeedSystem(
        factory=f"implementations.seeds.{factory}",
        policy=policy,
        seed_file=SEED_FILES[seed],
        section=section,
        backend=backend,
        claims=claims,
    )


_WT = "write-through"
_WB = "write-behind"

SYSTEMS: tuple[SeedSystem, ...] = (
    _row("000", "millisecond:write_through", _WT, "What Is Write-Through Caching? / How it works",
         "cache and DB are always in sync; no data loss on a crash"),
    _row("000", "millisecond:write_behind", _WB, "What Is Write-Behind (Write-Back) Caching?; Trivia Time! (LIST + Worker)",
         "Redis durability makes the queue safe; eventually consistent"),
    _row("000", "millisecond:write_behind_redis", _WB, "What Is Write-Behind (Write-Back) Caching?; Trivia Time! (LIST + Worker)",
         "Redis durability makes the queue safe; eventually consistent", backend="redis"),
    _row("001", "poc62:write_through", _WT, "Implementation / WRITE-THROUGH PATTERN",
         "reads from cache are always fresh; no risk of data loss"),
    _row("001", "poc62:write_behind", _WB, "Implementation / WRITE-BEHIND PATTERN",
         "batched, eventually consistent; loses only writes made before a crash"),
    _row("001", "poc62:durable_write_behind", _WB, "Production Considerations / Write-Behind Durability",
         "the Redis queue survives a process restart"),
    _row("001", "poc62:write_through_redis", _WT, "Implementation / WRITE-THROUGH PATTERN",
         "reads from cache are always fresh; no risk of data loss", backend="redis"),
    _row("001", "poc62:write_behind_redis", _WB, "Implementation / WRITE-BEHIND PATTERN",
         "batched, eventually consistent; loses only writes made before a crash", backend="redis"),
    _row("001", "poc62:durable_write_behind_redis", _WB, "Production Considerations / Write-Behind Durability",
         "the Redis queue survives a process restart", backend="redis"),
    _row("002", "tradeoffs:write_through", _WT, "Write-Through Caching / How It Works",
         "the cache is always consistent with the database; no data loss risk"),
    _row("002", "tradeoffs:write_back", _WB, "Write-Back (Write-Behind) Caching / How It Works",
         "eventual consistency; loses data only if the cache crashes before flushing"),
    _row("002", "tradeoffs:write_around", "write-around", "Write-Around Caching / How It Works",
         "invalidation prevents stale reads; a brief stale window"),
    _row("003", "dual_ledger:cache_first", _WT, "Implementation Challenge: The Code Pattern (first saveUser)",
         "write-through guarantees consistency"),
    _row("003", "dual_ledger:db_first", _WT, "Implementation Challenge: The Code Pattern (Better Implementation)",
         "database first; a cache write failure is tolerable, the next read fetches from the DB"),
    _row("003", "dual_ledger:fail_fast", _WT, "Investigation: The Cache Failure Resilience (Option 1)",
         "consistency maintained, availability suffers"),
    _row("003", "dual_ledger:db_fallback", _WT, "Investigation: The Cache Failure Resilience (Option 2)",
         "writes still work; risk of a stale cache"),
    _row("003", "dual_ledger:retry_queue", _WT, "Investigation: The Cache Failure Resilience (Option 3)",
         "queue the write for retry"),
    _row("004", "quick_recap:cache_aside", "cache-aside", "A quick recap of cache-aside",
         "a small gap between DB update and delete; survives cache failures"),
    _row("004", "quick_recap:read_through", "read-through", "Write-through. Update both at the same time",
         "always in sync, no stale data, reads always see fresh values"),
    _row("004", "quick_recap:write_back", _WB, "Write-back. Write fast now, save later",
         "100 writes of a key before a flush send only the final value to disk"),
)


def systems(*, backend: str | None = None, seed: str | None = None) -> tuple[SeedSystem, ...]:
    """The rows for one backend and/or one seed number ("000" ... "004")."""
    return tuple(
        row
        for row in SYSTEMS
        if (backend is None or row.backend == backend) and (seed is None or row.seed == seed)
    )


def find(factory: str) -> SeedSystem:
    """The row of a factory path, e.g. "implementations.seeds.poc62:write_behind".

    Raises:
        KeyError: no seed port has that factory path.
    """
    for row in SYSTEMS:
        if row.factory == factory:
            return row
    raise KeyError(f"no seed port is registered as {factory!r}")


def load_factory(factory: str) -> Callable[[Any], Any]:
    """Import `module:function` and return the function."""
    module_name, _, name = factory.partition(":")
    function: Callable[[Any], Any] = getattr(importlib.import_module(module_name), name)
    return function
