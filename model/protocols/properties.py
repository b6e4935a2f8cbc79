"""Properties of protocol models, as predicates in the expression language.

Every property is a *state* predicate: it must hold in every reachable state. Properties
about histories ("the DB has held this value", "a flush completed since the last
acknowledgement") read the history variables the builder maintains, and properties about
the end of a run are guarded by ``quiescent`` (every client has finished). Each property
names the clause of the policy contract (ARCHITECTURE.md) it is a step-level form of, so
that a refuting trace exported as a scenario says which clause a replay must break.

Some properties only have a meaning in some scenarios (ordering writes by their value
codes needs a single writer; "after crash and recovery" needs a crash); ``applies``
returns the reason a property does not apply, or None.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from model.protocols.builder import db_had
from model.protocols.expr import Expr, eq, implies, or_, var
from model.protocols.system import ABSENT, Scenario, TransitionSystem

__all__ = ["Property", "PROPERTIES", "property_by_id"]


@attrs.frozen(slots=True)
class Property:
    id: str
    clause: str  # the contract clause (ARCHITECTURE.md "Starting contract") it refines
    description: str
    predicate: Callable[[TransitionSystem], Expr]
    applies: Callable[[Scenario], str | None] = lambda sc: None

    def expr(self, system: TransitionSystem) -> Expr:
        return self.predicate(system)


def _kinds(sc: Scenario) -> set[str]:
    return {o.kind for c in sc.clients for o in c.ops}


def _single_writer(sc: Scenario) -> str | None:
    # Value codes order one writer's writes; with several writers "earlier" is undefined.
    return None if len(sc.writers) == 1 else "needs exactly one writer"


def _flush(sc: Scenario) -> str | None:
    if "flush" not in _kinds(sc):
        return "needs a flush operation (write-behind)"
    return _single_writer(sc)


def _flush_and_crash(sc: Scenario) -> str | None:
    return _flush(sc) or (None if sc.faults.crash else "needs a crash in the scenario")


def _flush_no_crash(sc: Scenario) -> str | None:
    return _flush(sc) or ("crashes are no-lost-ack's subject" if sc.faults.crash else None)


def _write_then_read(sc: Scenario) -> str | None:
    for c in sc.clients:
        kinds = [o.kind for o in c.ops]
        if "write" in kinds and "read" in kinds[kinds.index("write"):]:
            return _single_writer(sc)
    return "needs a client that reads after its own write"


def _writes(sc: Scenario) -> str | None:
    return None if sc.writers else "needs a write"


def _consistent(s: TransitionSystem) -> Expr:
    cached = s.observable("cached")
    return implies(s.observable("quiescent"), or_(eq(cached, ABSENT), eq(cached, var("db"))))


def _no_phantom(s: TransitionSystem) -> Expr:
    cached = s.observable("cached")
    return implies(
        s.observable("quiescent"), or_(eq(cached, ABSENT), db_had(cached, s.scenario))
    )


def _persisted(s: TransitionSystem) -> Expr:
    acked = var("h_acked")
    return implies(eq(var("h_settled"), 1), or_(eq(acked, ABSENT), eq(var("db"), acked)))


PROPERTIES: tuple[Property, ...] = (
    Property(
        "consistent-at-quiescence",
        "convergence",
        "when every client has finished, the cache holds nothing or the DB's value",
        _consistent,
    ),
    Property(
        "no-phantom",
        "no-phantom",
        "when every client has finished, the cache holds nothing or a value the DB has held "
        "(so no later read can be served a value the DB never got)",
        _no_phantom,
        _writes,
    ),
    Property(
        "durable-on-ack",
        "durable-on-ack",
        "when a write is acknowledged the DB holds (or has held) its value",
        lambda s: eq(var("h_ack_early"), 0),
        _writes,
    ),
    Property(
        "no-lost-ack",
        "bounded-loss",
        "after crash and recovery, once a flush completes, the DB holds the latest "
        "acknowledged write",
        _persisted,
        _flush_and_crash,
    ),
    Property(
        "eventual-persistence",
        "eventual-persistence",
        "once a flush completes (the DB up), the DB holds the latest acknowledged write",
        _persisted,
        _flush_no_crash,
    ),
    Property(
        "db-monotonic",
        "no-regression",
        "the DB never takes a value written before the one it holds",
        lambda s: eq(var("h_db_regressed"), 0),
        _single_writer,
    ),
    Property(
        "read-your-writes",
        "linearizable-reads",
        "a read after the client's own acknowledged write returns that write",
        lambda s: eq(var("h_ryw_bad"), 0),
        _write_then_read,
    ),
)


def property_by_id(pid: str) -> Property:
    for p in PROPERTIES:
        if p.id == pid:
            return p
    known = ", ".join(p.id for p in PROPERTIES)
    raise KeyError(f"unknown property {pid!r}; known: {known}")

