"""Properties of protocol models, as predicates in the expression language.

Every property is a *state* predicate: it must hold in every reachable state. Properties
about histories ("the DB has held this value", "a flush completed since the last
acknowledgement") read the history variables the builder maintains, and properties about
the end of a run are guarded by ``quiescent`` (every client has finished).

Each property names the clause of the policy contract (:mod:`model.clauses`) it is a
step-level form of, with :class:`Refines`: the clause itself (an unknown id fails at
import), and whether the property is its *exact* form or a *partial* one that catches less
than the clause (and for which protocols it asks *more* than the clause). proofs/ uses
this to check each verdict against the contract's monitor (proofs/refinement.py), and a
refuting trace exported as a scenario says which clause a replay must break.

Some properties only have a meaning in some scenarios (ordering writes by their value
codes needs a single writer; "after crash and recovery" needs a crash); ``applies``
returns the reason a property does not apply, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs

from model.clauses import Clause, clause
from model.policies import policy
from model.protocols.builder import Protocol, db_had
from model.protocols.expr import Expr, eq, implies, or_, var
from model.protocols.system import ABSENT, Scenario, TransitionSystem

__all__ = ["EXACT", "PARTIAL", "PROPERTIES", "Property", "Refines", "property_by_id"]

#: The property holds on a run exactly when the run keeps the clause.
EXACT = "exact"
#: The property catches less than the clause: refuting it refutes the clause, proving it
#: does not prove the clause.
PARTIAL = "partial"
Form = Literal["exact", "partial"]


def _never(protocol: Protocol) -> str | None:
    return None


@attrs.frozen(slots=True)
class Refines:
    """The contract clause a step-level property is a form of.

    Attributes:
        clause: the clause (given by id; an unknown id raises KeyError at import).
        form: EXACT or PARTIAL.
        reading: how the property reads the clause, or what it leaves out of it.
        durable: the clause as it binds a subject that declares ``durable = True`` (for
            bounded loss: nothing acknowledged may be lost).
        asks_more: for a protocol, why the property asks more than the clause of it (it
            judges a moment the clause does not), or None; a refutation of such a row does
            not refute the clause.
    """

    clause: Clause = attrs.field(converter=clause)
    form: Form
    reading: str
    durable: bool = False
    asks_more: Callable[[Protocol], str | None] = _never

    def __attrs_post_init__(self) -> None:
        if self.form not in (EXACT, PARTIAL):
            raise ValueError(f"form must be {EXACT!r} or {PARTIAL!r}, got {self.form!r}")


@attrs.frozen(slots=True)
class Property:
    id: str
    refines: Refines
    description: str
    predicate: Callable[[TransitionSystem], Expr]
    applies: Callable[[Scenario], str | None] = lambda sc: None

    @property
    def clause(self) -> str:
        """The id of the clause it refines."""
        return self.refines.clause.id

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


def _timed_reads(sc: Scenario) -> str | None:
    if "flush" in _kinds(sc):
        # A write-behind read is judged against the acknowledged writes, which run ahead of
        # the DB; the property measures lag behind the DB only.
        return "write-behind reads are judged against acknowledged writes, not the DB"
    if "read" not in _kinds(sc):
        return "needs a read"
    if not sc.writers:
        return "needs a write"
    if sc.faults.db_down or sc.faults.crash:
        # A failed write may take effect at any later moment, in any later period: the
        # step-level window does not follow it.
        return "needs a scenario without failed writes (no db-down, no crash)"
    return None if sc.faults.advance else "needs a clock advance past the TTL (without one nothing is older than T)"


def _buffered(protocol: Protocol) -> bool:
    return policy(protocol.policy).buffered


def _at_quiescence_asks_more(protocol: Protocol) -> str | None:
    if protocol.fill_ttl:
        return ("its cache entries carry a TTL: the clause is judged once they have run out, "
                "the property at quiescence, before")
    if _buffered(protocol):
        return ("writes may be pending: the clause is judged once they are flushed, the "
                "property at quiescence, before")
    return None


def _phantom_asks_more(protocol: Protocol) -> str | None:
    if _buffered(protocol):
        return ("write-behind caches an acknowledged write before the DB has it: the property "
                "counts that as a phantom, the clause does not")
    return None


def _consistent(s: TransitionSystem) -> Expr:
    cached = s.observable("cached")
    return implies(s.observable("quiescent"), or_(eq(cached, ABSENT), eq(cached, var("db"))))


def _no_phantom(s: TransitionSystem) -> Expr:
    cached = s.observable("cached")
    return implies(
        s.observable("quiescent"), or_(eq(cached, ABSENT), db_had(cached, s.scenario))
    )


def _fresh(s: TransitionSystem) -> Expr:
    return eq(var("h_stale_bad"), 0)


def _persisted(s: TransitionSystem) -> Expr:
    acked = var("h_acked")
    return implies(eq(var("h_settled"), 1), or_(eq(acked, ABSENT), eq(var("db"), acked)))


PROPERTIES: tuple[Property, ...] = (
    Property(
        "consistent-at-quiescence",
        Refines("convergence", EXACT,
                "at quiescence every cached entry equals the DB's value, as the harness "
                "checks once faults healed", asks_more=_at_quiescence_asks_more),
        "when every client has finished, the cache holds nothing or the DB's value",
        _consistent,
    ),
    Property(
        "no-phantom",
        Refines("no-phantom", PARTIAL,
                "only the value cached at quiescence, the one the next read returns; the "
                "clause covers every read", asks_more=_phantom_asks_more),
        "when every client has finished, the cache holds nothing or a value the DB has held "
        "(so no later read can be served a value the DB never got)",
        _no_phantom,
        _writes,
    ),
    Property(
        "durable-on-ack",
        Refines("durable-on-ack", PARTIAL,
                "the DB has held the value at the acknowledgement (or holds a newer version); "
                "the clause asks that it still holds it or a later one"),
        "when a write is acknowledged the DB holds (or has held) its value",
        lambda s: eq(var("h_ack_early"), 0),
        _writes,
    ),
    Property(
        "no-lost-ack",
        Refines("bounded-loss", EXACT,
                "for a subject that declares durable = True, a crash loses nothing: once a "
                "flush completes, the DB holds the latest acknowledged write", durable=True),
        "after crash and recovery, once a flush completes, the DB holds the latest "
        "acknowledged write",
        _persisted,
        _flush_and_crash,
    ),
    Property(
        "eventual-persistence",
        Refines("eventual-persistence", EXACT,
                "once a flush completes, the DB holds the latest acknowledged write"),
        "once a flush completes (the DB up), the DB holds the latest acknowledged write",
        _persisted,
        _flush_no_crash,
    ),
    Property(
        "db-monotonic",
        Refines("no-regression", EXACT,
                "the DB never takes a value written before the one it holds (one writer's "
                "program order orders the writes)"),
        "the DB never takes a value written before the one it holds",
        lambda s: eq(var("h_db_regressed"), 0),
        _single_writer,
    ),
    Property(
        "read-your-writes",
        Refines("linearizable-reads", PARTIAL,
                "only a client's reads after its own acknowledged write; the clause orders "
                "every read after every write that completed before it"),
        "a read after the client's own acknowledged write returns that write",
        lambda s: eq(var("h_ryw_bad"), 0),
        _write_then_read,
    ),
    Property(
        "bounded-staleness",
        Refines("bounded-staleness", EXACT,
                "a read returns a value that was the latest less than T (the fill TTL) "
                "before it: one the DB held, or a write in progress was writing, since the "
                "clock last passed the TTL (the clock moves between operations)"),
        "a read returns a value the DB has held, or a write in progress writes, since the "
        "clock last passed the TTL (it lags the DB by at most T)",
        _fresh,
        _timed_reads,
    ),
)


def property_by_id(pid: str) -> Property:
    for p in PROPERTIES:
        if p.id == pid:
            return p
    known = ", ".join(p.id for p in PROPERTIES)
    raise KeyError(f"unknown property {pid!r}; known: {known}")

