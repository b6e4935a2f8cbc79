"""The protocol registry and the tables of results ``prove`` settles.

``REQUIRED`` lists, for each row issue 5 asks to settle, the protocol, the property and
the scenario bounds; ``STALENESS`` adds the rows of bounded staleness's step-level form
(issue 17). The ``expected`` verdict is the issue's claim, kept only to be compared with
what the engines derive (the tool's verdict is reported either way, and a disagreement is
shown). ``TABLE`` is both, the rows ``prove`` settles by default.

A row may ask a protocol for more than its policy promises (``wa-no-invalidate`` x
``read-your-writes``: write-around promises bounded staleness, not linearizable reads).
Such a row is a *stronger-guarantee* row: :func:`stronger_guarantee` derives it from the
protocol's policy (and durability) and the clause the property refines, never from a list.
"""

from __future__ import annotations

import attrs

from model.policies import policy
from model.protocols.builder import Protocol, make_scenario
from model.protocols.cache_aside import (
    CA_INVALIDATE,
    CA_LEASE,
    WA_NO_INVALIDATE,
    WA_UNTIMED_FILL,
)
from model.protocols.properties import Property, property_by_id
from model.protocols.system import INITIAL, Faults, Scenario
from model.protocols.write_behind import (
    WB_DURABLE,
    WB_POP_BEFORE_COMMIT,
    WB_REQUEUE,
    WB_VOLATILE,
)
from model.protocols.write_through import (
    WT_CACHE_FIRST_SET,
    WT_DB_FIRST_INVALIDATE,
    WT_DB_FIRST_SET,
    WT_VERSIONED,
)

__all__ = [
    "PROTOCOLS",
    "REQUIRED",
    "STALENESS",
    "TABLE",
    "Row",
    "protocol_by_id",
    "rows_for",
    "stronger_guarantee",
]

PROTOCOLS: tuple[Protocol, ...] = (
    WT_DB_FIRST_SET,
    WT_CACHE_FIRST_SET,
    WT_DB_FIRST_INVALIDATE,
    WT_VERSIONED,
    CA_INVALIDATE,
    CA_LEASE,
    WA_NO_INVALIDATE,
    WA_UNTIMED_FILL,
    WB_VOLATILE,
    WB_DURABLE,
    WB_REQUEUE,
    WB_POP_BEFORE_COMMIT,
)


@attrs.frozen(slots=True)
class Row:
    """One question: does ``protocol`` satisfy ``property`` within ``scenario``?"""

    protocol: str
    property: str
    scenario: Scenario
    expected: str | None = None  # "PROVED" / "REFUTED" as claimed by the issue, or None

    def __attrs_post_init__(self) -> None:
        protocol_by_id(self.protocol)
        property_by_id(self.property)

    @property
    def stronger_guarantee(self) -> str | None:
        """Why the row asks the protocol for more than its policy promises, or None."""
        return stronger_guarantee(protocol_by_id(self.protocol), property_by_id(self.property))


def stronger_guarantee(protocol: Protocol, prop: Property) -> str | None:
    """Why ``prop`` asks ``protocol`` for a guarantee stronger than it promises, or None.

    Derived, not listed: the clause the property refines is not among the clauses of the
    protocol's policy (nor implied by one), or the property reads the clause for a subject
    that declares ``durable = True`` and the protocol keeps writes in process memory.
    """
    pol = policy(protocol.policy)
    ref = prop.refines
    cid = ref.clause.id
    if not pol.promises(cid):
        if cid in ("linearizable-reads", "bounded-staleness"):
            return f"{pol.name} promises {pol.read_clause}, not {cid}"
        return f"{cid} is not a clause of {pol.name}"
    if ref.durable and not protocol.durable:
        return (f"{protocol.id} keeps acknowledged writes in process memory (durable = False); "
                f"the property reads {cid} for a subject that declares durable = True")
    return None


def protocol_by_id(pid: str) -> Protocol:
    for p in PROTOCOLS:
        if p.id == pid:
            return p
    known = ", ".join(p.id for p in PROTOCOLS)
    raise KeyError(f"unknown protocol {pid!r}; known: {known}")


_WRITER_DB_FAULT = WT_DB_FIRST_SET.default  # one writer, two writes, the DB may go down once
_TWO_WRITERS = make_scenario({"c0": ["write"], "c1": ["write"]}, Faults(), INITIAL)

REQUIRED: tuple[Row, ...] = (
    Row("wt-db-first-set", "no-phantom", _WRITER_DB_FAULT, "PROVED"),
    Row("wt-cache-first-set", "no-phantom", _WRITER_DB_FAULT, "REFUTED"),
    Row("wt-db-first-set", "consistent-at-quiescence", _TWO_WRITERS, "REFUTED"),
    Row("wt-db-first-invalidate", "consistent-at-quiescence", WT_DB_FIRST_INVALIDATE.default,
        "PROVED"),
    Row("ca-invalidate", "consistent-at-quiescence", CA_INVALIDATE.default, "REFUTED"),
    Row("ca-lease", "consistent-at-quiescence", CA_LEASE.default, "PROVED"),
    Row("wt-versioned", "consistent-at-quiescence", WT_VERSIONED.default, "PROVED"),
    Row("wb-volatile", "no-lost-ack", WB_VOLATILE.default, "REFUTED"),
    Row("wb-durable", "no-lost-ack", WB_DURABLE.default, "PROVED"),
    Row("wb-requeue", "eventual-persistence", WB_REQUEUE.default, "REFUTED"),
    Row("wb-pop-before-commit", "no-lost-ack", WB_POP_BEFORE_COMMIT.default, "REFUTED"),
    Row("wa-no-invalidate", "read-your-writes", WA_NO_INVALIDATE.default, "REFUTED"),
)

# A reader beside a writer that reads its own write; the clock may pass the TTL once,
# between operations (as the harness moves it).
_READERS_CLOCK = make_scenario({"c0": ["read", "read"], "c1": ["write", "read"]},
                               Faults(advance=1))

STALENESS: tuple[Row, ...] = (
    # Write-around's own read clause: a stale fill (a read that loaded v0 fills after the
    # write) is served until its TTL ends, no longer. On the same scenario read-your-writes
    # is refuted: the stronger guarantee it does not promise.
    Row("wa-no-invalidate", "bounded-staleness", _READERS_CLOCK, "PROVED"),
    # The same algorithm with untimed fills: the stale entry outlives the TTL.
    Row("wa-untimed-fill", "bounded-staleness", _READERS_CLOCK, "REFUTED"),
    # The textbook cache-aside: its stale fill has no TTL to end it (no finite bound).
    Row("ca-invalidate", "bounded-staleness", _READERS_CLOCK, "REFUTED"),
)

TABLE: tuple[Row, ...] = REQUIRED + STALENESS


def rows_for(protocol: str | None = None, prop: str | None = None) -> tuple[Row, ...]:
    """The rows of ``TABLE`` matching the filters; for a pair outside the table, one row on
    the protocol's default scenario."""
    if protocol is not None:
        protocol_by_id(protocol)
    if prop is not None:
        property_by_id(prop)
    rows = tuple(
        r for r in TABLE
        if (protocol is None or r.protocol == protocol) and (prop is None or r.property == prop)
    )
    if rows or protocol is None or prop is None:
        return rows
    return (Row(protocol, prop, protocol_by_id(protocol).default),)
