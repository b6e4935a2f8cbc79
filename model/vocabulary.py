"""The names the project speaks in: the operations a subject offers and the faults the
harness can inject. Every layer (the contract, the proofs' scenarios, the harness, the
CLI's parsers) spells them from here, so a new operation or fault is added once.

    >>> from model.vocabulary import OPERATIONS, STORE_FAULTS
    >>> OPERATIONS
    ('write', 'read', 'flush')
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "OpKind",
    "WRITE",
    "READ",
    "FLUSH",
    "OPERATIONS",
    "REQUIRED_OPERATIONS",
    "KEYED_OPERATIONS",
    "STORE_FAULTS",
    "HEALS",
    "CRASH",
    "CLOCK",
    "FAULTS",
]

#: An operation of the subject contract.
OpKind = Literal["write", "read", "flush"]

WRITE: Final = "write"
READ: Final = "read"
FLUSH: Final = "flush"

#: Every operation a client may call, in the order the parsers and the docs list them.
OPERATIONS: Final[tuple[OpKind, ...]] = (WRITE, READ, FLUSH)
#: What every subject must have; `flush` is optional (a subject without one has nothing to persist on demand).
REQUIRED_OPERATIONS: Final[tuple[OpKind, ...]] = (WRITE, READ)
#: The operations that name a key (flush applies to all of them).
KEYED_OPERATIONS: Final[tuple[OpKind, ...]] = (WRITE, READ)

#: Faults of the stores, injected by the harness between (or inside) subject calls.
#: The order is part of what a `--seed` draws (the Hypothesis machine lists its fault
#: actions in it): append, never reorder.
STORE_FAULTS: Final[tuple[str, ...]] = (
    "db-down",
    "db-up",
    "db-timeout",     # the next DB write times out; it may or may not have taken effect
    "cache-down",
    "cache-up",
    "cache-restart",  # the cache loses its contents
    "evict",          # one key's cache entry goes
)

#: A lasting fault and the fault that ends it.
HEALS: Final[dict[str, str]] = {"db-down": "db-up", "cache-down": "cache-up"}

#: The application process dies (subjects, workers, memory); the stores survive.
CRASH: Final = "crash"
#: The virtual clock moves forward (TTLs run out, workers wake up).
CLOCK: Final = "clock"

#: The whole fault model a policy may be checked under (ARCHITECTURE "Fault model").
FAULTS: Final[tuple[str, ...]] = STORE_FAULTS + (CLOCK, CRASH)
