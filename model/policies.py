"""The five write policies as data: which clauses apply and how the generic contract
(model.contract) is parametrized. A policy's semantics are these few switches; the
transition rules live once, in model.contract."""

from __future__ import annotations

from attrs import frozen

from model.clauses import CLAUSES, Clause

__all__ = ["Policy", "POLICIES", "policy", "policy_names", "UnknownPolicy"]

# Faults every policy is checked under (ARCHITECTURE "Fault model").
_COMMON_FAULTS = (
    "db-down",
    "db-timeout",
    "cache-down",
    "cache-restart",
    "evict",
    "clock",
    "crash",
)


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
