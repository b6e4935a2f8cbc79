"""The clauses of the policy contracts: what each promise means, in one place.

A verdict names the clause an observation broke, and every relaxation the explanation
needed (a stale read allowed by a TTL, writes lost in a crash the policy allows to lose).
"""

from __future__ import annotations

from attrs import frozen

__all__ = ["CLAUSES", "Clause", "clause"]


@frozen
class Clause:
    """One promise of a policy contract.

    Attributes:
        id: the stable name a verdict, a JSON report and a scenario file use.
        title: the promise in one short line, in words the id does not already say
            ("clause broken: <id> — <title>").
        text: the promise stated in full, with its exceptions.
        implies: ids of the clauses this one is stronger than: a behaviour that keeps this
            promise keeps those too (a linearizable read lags the DB by nothing, so it is
            within any staleness bound). A policy that promises this one promises those.
    """

    id: str
    title: str
    text: str
    implies: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.id


_ALL = (
    Clause(
        "durable-on-ack",
        "an acknowledged write is in the DB, or a later one is",
        "when write returns, the DB holds that value or a later one",
    ),
    Clause(
        "linearizable-reads",
        "a read returns the latest write that precedes it",
        "every read returns the latest write that linearizes before it; indeterminate writes "
        "may linearize or not, but consistently; after a cache fault the subject could not "
        "repair, a stale value may be read only from the entry the fault left behind, and only "
        "until its TTL ends",
        implies=("bounded-staleness",),
    ),
    Clause(
        "bounded-staleness",
        "a read lags the DB by at most the fill TTL",
        "a read may lag the DB by at most the fill TTL",
    ),
    Clause(
        "eventual-persistence",
        "a completed flush leaves every acknowledged write in the DB",
        "once flush() returns with the DB up, the DB holds the latest acknowledged write of every key",
    ),
    Clause(
        "bounded-loss",
        "a crash loses only the writes since the last flush",
        "a crash loses only writes acknowledged after the last completed flush, none if the "
        "subject declares durable = True; a lost write stays visible only through a cache "
        "entry written before the crash, and only until its TTL ends",
    ),
    Clause(
        "no-regression",
        "the DB never goes back to an older write",
        "a key's DB value never goes back to a value written before the one it holds",
    ),
    Clause("no-phantom", "a read returns only a value that was written",
           "no read returns a value that was never written"),
    Clause(
        "convergence",
        "once faults heal and work settles, the cache agrees with the DB",
        "after faults heal, the system quiesces, pending work is flushed and TTLs have run "
        "out, every cached entry equals the DB's value",
    ),
    Clause(
        "liveness",
        "every call returns within the timeout",
        "every operation of the subject returns (or raises) within the per-operation timeout",
    ),
    Clause(
        "subject-error",
        "the subject raises only the store errors the harness injected",
        "a subject raises only the store errors the harness injected (ConnectionError, "
        "TimeoutError), never an error of its own",
    ),
)

CLAUSES: dict[str, Clause] = {c.id: c for c in _ALL}
assert all(i in CLAUSES for c in _ALL for i in c.implies), "a clause implies only known clauses"


def clause(clause_id: str) -> Clause:
    """The clause named `clause_id`.

    Raises:
        KeyError: with the known ids, when there is no such clause.
    """
    try:
        return CLAUSES[clause_id]
    except KeyError:
        raise KeyError(f"unknown clause {clause_id!r}; known: {', '.join(CLAUSES)}") from None
