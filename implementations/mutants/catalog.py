"""The mutant catalog: every deliberately broken variant, the clause the suite must report,
and what the check needs to reach the bug.

One row per mutant. `clause` is the clause the default check reports for it (the one a
shrunk counterexample breaks first); `also` lists clauses that a different shortest
counterexample may break instead, when the bug breaks several at once. `scenario` says what
the check must be able to do: `sequential` mutants are found by the default sequential
check with faults; the others need the concurrency scheduler (issue 3): `clients=2` (two
clients of one subject), `worker` (the background flush interleaved with a client), or
`crash-at-step` (a crash between two store calls of one operation).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["Mutant", "MUTANTS", "SEQUENTIAL", "CONCURRENT", "find", "load_factory"]

SEQUENTIAL = "sequential"
CONCURRENT = ("clients=2", "worker", "crash-at-step")


@attrs.frozen
class Mutant:
    """One broken variant.

    Attributes:
        id: short stable name (the factory's name).
        factory: `module:attr` of the factory.
        policy: the policy it claims to implement (the contract it is checked against).
        clause: the clause the check reports.
        faults: the faults a counterexample needs (empty: none).
        scenario: `sequential`, or what the scheduler must provide (see module docstring).
        bug: one line: what is broken.
        also: other clauses a counterexample may legitimately break first.
    """

    id: str
    factory: str
    policy: str
    clause: str
    faults: tuple[str, ...]
    scenario: str
    bug: str
    also: tuple[str, ...] = ()

    @property
    def sequential(self) -> bool:
        return self.scenario == SEQUENTIAL

    @property
    def clauses(self) -> tuple[str, ...]:
        """Every clause a correct report may name."""
        return (self.clause, *self.also)


def _sync(id: str, policy: str, clause: str, faults: tuple[str, ...], scenario: str, bug: str,
          also: tuple[str, ...] = ()) -> Mutant:
    return Mutant(id, f"implementations.mutants.synchronous:{id}", policy, clause, faults, scenario, bug, also)


def _buffered(id: str, clause: str, faults: tuple[str, ...], scenario: str, bug: str,
              also: tuple[str, ...] = ()) -> Mutant:
    return Mutant(id, f"implementations.mutants.buffered:{id}", "write-behind", clause, faults, scenario, bug, also)


_LIN = "linearizable-reads"

MUTANTS: tuple[Mutant, ...] = (
    _sync("write_through_cache_first", "write-through", "no-phantom", ("db-down",), SEQUENTIAL,
          "cache set before the DB write; a failed DB write leaves its value readable",
          also=(_LIN,)),
    _sync("write_through_swallows_db_error", "write-through", "durable-on-ack", ("db-down",), SEQUENTIAL,
          "DB error caught and the write acknowledged anyway"),
    _sync("write_through_set_race", "write-through", _LIN, (), "clients=2",
          "DB first then cache.set(value): two writers leave cache != DB"),
    _sync("cache_aside_no_invalidation", "cache-aside", _LIN, (), SEQUENTIAL,
          "DB updated, cache entry not deleted"),
    _sync("cache_aside_unguarded_fill", "cache-aside", _LIN, (), "clients=2",
          "fill without lease: a reader racing a writer stores the old value after the delete"),
    _sync("cache_aside_delete_before_db", "cache-aside", _LIN, (), "clients=2",
          "delete before the DB write: a reader in between refills the old value"),
    _sync("write_around_fill_without_ttl", "write-around", "convergence", (), SEQUENTIAL,
          "no invalidation (allowed) and fills without TTL (not): staleness unbounded",
          also=("bounded-staleness",)),
    _sync("read_through_fill_without_ttl", "read-through", "convergence", ("cache-down", "crash"), SEQUENTIAL,
          "loader fills without TTL: an entry a failed invalidation left stale never ends",
          also=(_LIN,)),
    _buffered("write_behind_drops_failed_batch", "eventual-persistence", ("db-down",), SEQUENTIAL,
              "a failed flush forgets its batch", also=(_LIN,)),
    _buffered("write_behind_clears_before_write", "eventual-persistence", ("db-down",), SEQUENTIAL,
              "buffer cleared before the DB write", also=(_LIN,)),
    _buffered("write_behind_stale_requeue", _LIN, ("db-down",), "worker",
              "a failed flush re-queues its old snapshot over a newer pending write",
              also=("eventual-persistence",)),
    _buffered("write_behind_read_skips_buffer", _LIN, ("evict",), SEQUENTIAL,
              "reads skip the pending buffer: after an eviction they return the DB's older value"),
    _buffered("write_behind_flush_returns_early", "eventual-persistence", (), SEQUENTIAL,
              "flush() returns before persisting, leaving the work to the worker"),
    _buffered("write_behind_durable_without_queue", "bounded-loss", ("crash",), SEQUENTIAL,
              "durable = True declared, pending writes kept only in memory", also=(_LIN,)),
    _buffered("durable_replay_reversed", "bounded-loss", ("crash",), SEQUENTIAL,
              "recovery replays the durable queue newest first", also=(_LIN, "no-regression")),
    _buffered("durable_ack_before_commit", "bounded-loss", ("db-down", "crash"), SEQUENTIAL,
              "queue entries acked before their DB commit; a crash in between loses them",
              also=(_LIN,)),
    # Deletes (issue 20): each of these offers delete(), so the machine draws deletes.
    _buffered("write_behind_resurrects", "no-regression", (), SEQUENTIAL,
              "delete removes the row but leaves the queued put, which the flush applies after it",
              also=("eventual-persistence", _LIN)),
    _buffered("write_behind_loses_failed_delete", "eventual-persistence", ("db-timeout",), SEQUENTIAL,
              "a failed flush keeps its puts but forgets its deletes",
              also=(_LIN, "no-regression")),
    _sync("write_through_delete_keeps_entry", "write-through", _LIN, (), SEQUENTIAL,
          "delete removes the DB row, not the cache entry", also=("convergence",)),
)


def find(id: str) -> Mutant:
    """The catalog row called `id`.

    Raises:
        KeyError: naming the known ids.
    """
    for m in MUTANTS:
        if m.id == id:
            return m
    raise KeyError(f"no mutant {id!r}; known: {', '.join(m.id for m in MUTANTS)}")


def load_factory(mutant: Mutant) -> Callable[[Any], Any]:
    """Import the mutant's factory."""
    module, _, attr = mutant.factory.partition(":")
    return getattr(importlib.import_module(module), attr)
