"""The protocol registry and the table of results issue 5 asks to settle.

``REQUIRED`` lists, for each row, the protocol, the property and the scenario bounds; the
``expected`` verdict is the issue's claim, kept only to be compared with what the engines
derive (the tool's verdict is reported either way, and a disagreement is shown).
"""

from __future__ import annotations

import attrs

from model.protocols.builder import Protocol, make_scenario
from model.protocols.cache_aside import CA_INVALIDATE, CA_LEASE, WA_NO_INVALIDATE
from model.protocols.properties import property_by_id
from model.protocols.system import INITIAL, Faults, Scenario
from model.protocols.write_behind import WB_DURABLE, WB_POP_BEFORE_COMMIT, WB_REQUEUE, WB_VOLATILE
from model.protocols.write_through import (
    WT_CACHE_FIRST_SET,
    WT_DB_FIRST_INVALIDATE,
    WT_DB_FIRST_SET,
    WT_VERSIONED,
)

__all__ = ["PROTOCOLS", "Row", "REQUIRED", "protocol_by_id", "rows_for"]

PROTOCOLS: tuple[Protocol, ...] = (
    WT_DB_FIRST_SET,
    WT_CACHE_FIRST_SET,
    WT_DB_FIRST_INVALIDATE,
    WT_VERSIONED,
    CA_INVALIDATE,
    CA_LEASE,
    WA_NO_INVALIDATE,
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


def rows_for(protocol: str | None = None, prop: str | None = None) -> tuple[Row, ...]:
    """The required rows matching the filters; for a pair outside the table, one row on the
    protocol's default scenario."""
    if protocol is not None:
        protocol_by_id(protocol)
    if prop is not None:
        property_by_id(prop)
    rows = tuple(
        r for r in REQUIRED
        if (protocol is None or r.protocol == protocol) and (prop is None or r.property == prop)
    )
    if rows or protocol is None or prop is None:
        return rows
    return (Row(protocol, prop, protocol_by_id(protocol).default),)
