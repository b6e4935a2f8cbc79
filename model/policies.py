"""The five write policies as data: which clauses apply and how the generic contract
(model.contract) is parametrized. A policy's semantics are these few switches; the
transition rules live once, in model.contract."""

from __future__ import annotations

from attrs import evolve, frozen

from model.clauses import CLAUSES, Clause
from model.vocabulary import FAULTS, HEALS

__all__ = ["POLICIES", "Policy", "UnknownPolicy", "policy", "policy_names"]

# Faults every policy is checked under (ARCHITECTURE "Fault model").
_COMMON_FAULTS = tuple(f for f in FAULTS if f not in HEALS.values())


@frozen
class Policy:
    """A write policy.

    Attributes:
        name: canonical name (`write-through`, ...).
        aliases: other names users call it by.
        buffered: writes are acknowledged before they reach the DB (write-behind); durable
            on ack does not apply, eventual persistence and bounded loss do.
        bounded_staleness: reads may lag the DB by the fill TTL (write-around) instead of
            being linearizable.
        summary: one line for `cache-conformance policies`.
    """

    name: str
    summary: str
    buffered: bool = False
    bounded_staleness: bool = False
    aliases: tuple[str, ...] = ()
    faults: tuple[str, ...] = _COMMON_FAULTS

    @property
    def read_clause(self) -> str:
        return "bounded-staleness" if self.bounded_staleness else "linearizable-reads"

    @property
    def clauses(self) -> tuple[Clause, ...]:
        ids = ["no-phantom", "no-regression", self.read_clause]
        if self.buffered:
            ids += ["eventual-persistence", "bounded-loss"]
        else:
            ids.insert(0, "durable-on-ack")
        ids += ["convergence", "liveness", "subject-error"]
        return tuple(CLAUSES[i] for i in ids)

    def promises(self, clause_id: str) -> bool:
        """Whether the policy's contract keeps clause `clause_id`: it is one of its clauses,
        or one of them implies it (write-through's linearizable reads are within any
        staleness bound; write-around's bounded staleness is not linearizable).

        Raises:
            KeyError: naming the known clauses, for an unknown id.
        """
        if clause_id not in CLAUSES:
            raise KeyError(f"unknown clause {clause_id!r}; known: {', '.join(CLAUSES)}")
        return any(c.id == clause_id or clause_id in c.implies for c in self.clauses)

    def asked_for(self, clause_id: str) -> Policy:
        """This policy with the switch that decides `clause_id` set so that its contract
        judges that clause: write-around asked for linearizable reads is judged as
        cache-aside is, write-behind asked for durable on ack as an unbuffered policy,
        cache-aside asked for bounded staleness by the staleness bound. Unchanged when the
        clause is already one of its own, or no switch decides it.

        Raises:
            KeyError: naming the known clauses, for an unknown id.
        """
        if clause_id not in CLAUSES:
            raise KeyError(f"unknown clause {clause_id!r}; known: {', '.join(CLAUSES)}")
        if any(c.id == clause_id for c in self.clauses):
            return self
        switch: dict[str, object]
        if clause_id in ("linearizable-reads", "bounded-staleness"):
            switch = {"bounded_staleness": clause_id == "bounded-staleness"}
        elif clause_id == "durable-on-ack":
            switch = {"buffered": False}
        elif clause_id in ("eventual-persistence", "bounded-loss"):
            switch = {"buffered": True}
        else:
            return self
        return evolve(self, name=f"{self.name} asked for {clause_id}", aliases=(), **switch)


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy(
            "write-through",
            "write goes to the DB and the cache before it is acknowledged",
        ),
        Policy(
            "write-behind",
            "write is acknowledged from the cache/buffer; the DB is updated later, in batches",
            buffered=True,
            aliases=("write-back",),
        ),
        Policy(
            "write-around",
            "write goes to the DB only; reads fill the cache with a TTL",
            bounded_staleness=True,
        ),
        Policy(
            "cache-aside",
            "the application writes the DB and invalidates; reads fill the cache on a miss",
        ),
        Policy(
            "read-through",
            "the cache loads misses from the DB itself; writes are write-through",
        ),
    )
}

_BY_NAME: dict[str, Policy] = {}
for _p in POLICIES.values():
    _BY_NAME[_p.name] = _p
    for _a in _p.aliases:
        _BY_NAME[_a] = _p


class UnknownPolicy(KeyError):
    """No policy by that name."""

    def __str__(self) -> str:
        return str(self.args[0])


def policy(name: str) -> Policy:
    """The policy called `name` (an alias such as `write-back` works too).

    Raises:
        UnknownPolicy: naming the known policies.
    """
    try:
        return _BY_NAME[name.strip().lower().replace("_", "-")]
    except KeyError:
        raise UnknownPolicy(
            f"unknown policy {name!r}; known policies: {', '.join(policy_names())} "
            "(alias: write-back)"
        ) from None


def policy_names() -> list[str]:
    return list(POLICIES)
