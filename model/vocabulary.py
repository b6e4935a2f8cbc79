"""The names the project speaks in: the operations a subject offers and the faults the
harness can inject. Every layer (the contract, the proofs' scenarios, the harness, the
CLI's parsers) spells them from here, so a new operation or fault is added once.

    >>> from model.vocabulary import OPERATIONS, STORE_FAULTS
    >>> OPERATIONS
    ('write', 'read', 'flush', 'delete')
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "OpKind",
    "WRITE",
    "READ",
    "FLUSH",
    "DELETE",
    "WRITES",
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
OpKind = Literal["write", "read", "flush", "delete"]

WRITE: Final = "write"
READ: Final = "read"
FLUSH: Final = "flush"
#: Invalidate or remove a key: the DB no longer holds it, reads return None until a new write.
DELETE: Final = "delete"

#: Every operation a client may call, in the order the parsers and the docs list them.
#: Appended, never reordered.
OPERATIONS: Final[tuple[OpKind, ...]] = (WRITE, READ, FLUSH, DELETE)
#: What every subject must have; `flush` and `delete` are optional (a subject without a
#: flush has nothing to persist on demand; one without a delete is never asked to delete).
REQUIRED_OPERATIONS: Final[tuple[OpKind, ...]] = (WRITE, READ)
#: The operations that name a key (flush applies to all of them).
KEYED_OPERATIONS: Final[tuple[OpKind, ...]] = (WRITE, READ, DELETE)
#: The operations that set a key's value. A delete is a write of the absent value: its
#: Invoke carries value None, and everything the contract, the register checker and the
#: monitor say about a write (it takes effect once inside its interval; failed, it is
#: indeterminate; buffered, it is pending until persisted) holds for it with that value.
#: This is the one place that says so; the others test `kind in WRITES`.
WRITES: Final[tuple[OpKind, ...]] = (WRITE, DELETE)

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
