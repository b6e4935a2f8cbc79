"""The abstract state of one key under a policy contract.

The contract is nondeterministic: after a prefix of a history, the set of `KeyState`s
that explain it is what the checker carries. The state records only what the promises
talk about: the value reads must return, what the DB holds, acknowledged writes not yet
persisted, operations in flight, and the relaxations in force (stale entries a fault
left behind, superseded values still within a staleness bound).
"""

from __future__ import annotations

from attrs import fields, frozen

__all__ = ["Stale", "KeyState"]


@frozen
class Stale:
    """A value reads may still return, with why and until when (the entry's expiry)."""

    value: str | None
    until: float
    reason: str


@frozen(cache_hash=True)
class KeyState:
    """One explanation of a key's history so far.

    Attributes:
        value: the latest linearized write: what a linearizable read returns (None: absent,
            initially or after a delete, which is a write of None).
        db: what the DB holds for the key in this explanation (None: no row).
        pending: linearized (acknowledged) writes not yet persisted, oldest first
            (buffered policies only).
        open_writes: (op, value) of writes invoked and not yet linearized.
        limbo: (op, value) of writes that failed before they linearized: indeterminate, they
            may still take effect at any later moment, or never.
        done_writes: writes linearized whose completion has not been observed yet.
        open_reads: reads invoked and not yet linearized.
        read_results: (op, value) of linearized reads awaiting their completion.
        open_flushes / done_flushes: the same for flush.
        superseded: (value, time) of values overwritten, while within the staleness bound.
        stale: stale values the relaxations allow.
    """

    value: str | None
    db: str | None
    pending: tuple[str | None, ...] = ()  # None: a pending delete
    open_writes: frozenset[tuple[int, str | None]] = frozenset()
    limbo: frozenset[tuple[int, str | None]] = frozenset()
    done_writes: frozenset[int] = frozenset()
    open_reads: frozenset[int] = frozenset()
    read_results: frozenset[tuple[int, str | None]] = frozenset()
    open_flushes: frozenset[int] = frozenset()
    done_flushes: frozenset[int] = frozenset()
    superseded: tuple[tuple[str | None, float], ...] = ()
    stale: frozenset[Stale] = frozenset()

    def but(self, **changes: object) -> "KeyState":
        """A copy with `changes` (attrs.evolve, without its introspection: the checker
        makes hundreds of thousands of these)."""
        c = changes.get
        return KeyState(
            c("value", self.value), c("db", self.db), c("pending", self.pending),  # type: ignore[arg-type]
            c("open_writes", self.open_writes), c("limbo", self.limbo),  # type: ignore[arg-type]
            c("done_writes", self.done_writes), c("open_reads", self.open_reads),  # type: ignore[arg-type]
            c("read_results", self.read_results), c("open_flushes", self.open_flushes),  # type: ignore[arg-type]
            c("done_flushes", self.done_flushes), c("superseded", self.superseded),  # type: ignore[arg-type]
            c("stale", self.stale),  # type: ignore[arg-type]
        )


# `but` lists the fields by hand for speed; this keeps it honest if a field is added.
assert tuple(a.name for a in fields(KeyState)) == (
    "value", "db", "pending", "open_writes", "limbo", "done_writes", "open_reads", "read_results",
    "open_flushes", "done_flushes", "superseded", "stale")
