"""Refinement: the explicit engine's verdict on a row, checked against the contract.

A protocol model and a policy contract are two descriptions of the same promise: the
property a row checks is a step-level form of a contract clause (``Property.refines``).
This module checks that they agree, on every run of the row's scenario. It explores the
product of the protocol's state graph (the explicit engine's) with the contract's
monitor (``model.monitor.KeyMonitor``), translating each path into the history a harness
would record of it:

* time: each store call takes one second (the step index), a clock advance past the TTL
  takes T + 1 seconds, with T (the fill TTL and the staleness bound) far above any run's
  length, so that time within one TTL period never counts against the bound;
* ``Invoke`` when a client makes the first store call of an operation, ``Ok`` (a read's
  result, decoded from the model) or ``Fail`` (a write whose DB call failed, a read on a
  DB that is down) when the step ends it;
* ``DbObserved`` of a changed DB whenever no operation is in progress, as the harness
  reads the DB once its operations have returned (the contract reads the DB's value as the
  latest write's, which holds only then);
* faults as ``Fault``, a clock advance as ``Tick``, a crash as ``Fail(..., "crashed")`` for
  every operation in flight, then ``Crash`` with the cache's content;
* at quiescence, as the harness's ``finish()``: the clock passes every TTL, one observer
  read of the key (the cache's value if it holds one, else the DB's), one ``DbObserved``,
  and the cache entry as ``CacheObserved`` (convergence; not under a buffered policy,
  which converges only once its pending writes are flushed, and the translation runs no
  operation the scenario does not have).

The contract is the protocol's policy asked for the clause the property refines
(``Policy.asked_for``; a stronger-guarantee row is judged by the clause it asks for), for a
subject as durable as the protocol, or as the clause reads it (``Refines.durable``).

What must agree:

* PROVED: no history is rejected on the clause the property refines; histories rejected
  on another clause are reported (the contract found something the property does not
  look at), not failed.
* REFUTED: the counterexample's history, continued to quiescence, is rejected by the
  contract (on any clause); both attributions are shown side by side.
* A partial property (it catches less than its clause) cannot vouch for a PROVED row, and
  a property that asks more of this protocol than its clause cannot vouch for a REFUTED
  one: those rows are known gaps, reported with what the contract said, never failed.

The exploration is a depth-first search memoized on (protocol state, translation state,
monitor signature). A bound (product states, the monitor's explanations, a run too long
for the time encoding) gives UNKNOWN with the reason: never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs

from model import (
    CacheEntry,
    CacheObserved,
    Contract,
    Crash,
    DbObserved,
    Event,
    Fail,
    Fault,
    Invoke,
    KeyMonitor,
    Ok,
    Tick,
    Violation,
    policy,
)
from model.protocols import (
    ABSENT,
    INITIAL,
    PARTIAL,
    Property,
    Row,
    TransitionSystem,
    protocol_by_id,
)
from model.protocols.expr import evaluate
from model.scenario_format import CLOCK_ADVANCE, KEY
from proofs.explicit import Exploration, bad_states
from proofs.verdict import PROVED, REFUTED

__all__ = [
    "AGREES",
    "DEFAULT_LIMIT",
    "DISAGREES",
    "GAP",
    "TTL",
    "UNKNOWN",
    "Refinement",
    "check",
    "contract_for",
]

AGREES = "agrees"
DISAGREES = "DISAGREES"
GAP = "known gap"
UNKNOWN = "UNKNOWN"

#: The fill TTL and the staleness bound of the histories, in seconds.
TTL = 300.0
#: Product states explored before the check gives up (UNKNOWN).
DEFAULT_LIMIT = 200_000
#: Explanations per monitor before it gives up (UNKNOWN).
MONITOR_LIMIT = 20_000
#: Store calls in one run that keep every run's time within one TTL period.
MAX_STEPS = int(TTL) // 2

_OBSERVER = "observer"
_OBSERVER_OP = 10**6


@attrs.frozen(slots=True)
class Refinement:
    """What the contract says of one row's verdict.

    Attributes:
        status: AGREES, DISAGREES, GAP or UNKNOWN.
        verdict: the explicit engine's verdict it was checked against.
        clause: the clause the property refines (its attribution).
        form: "exact", "partial", or "asks more: <why>" for this protocol.
        contract: the policy (and durability) the histories were judged under.
        reason: one line saying what was found.
        violation: the contract's violation of the witness history (for REFUTED, of the
            counterexample's), or None.
        history: the witness history, or ().
        other: for PROVED, "clause: n histories" rejected on other clauses.
        states: product states explored.
        seconds: time taken.
    """

    status: str
    verdict: str
    clause: str
    form: str
    contract: str
    reason: str
    violation: Violation | None = None
    history: tuple[Event, ...] = ()
    other: tuple[str, ...] = ()
    states: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Not a failure of `prove`: agreement or a known gap."""
        return self.status in (AGREES, GAP)

    def attributions(self) -> str:
        """The property's clause and the contract's, side by side."""
        contract = self.violation.clause if self.violation is not None else "none (accepted)"
        return f"property: {self.clause}  |  contract: {contract}"

    def lines(self) -> list[str]:
        out = [f"refinement: {self.status} ({self.form}; contract {self.contract}): {self.reason}",
               f"  {self.attributions()}"]
        if self.violation is not None:
            out.append(f"  expected: {self.violation.expected}")
            out.append(f"  observed: {self.violation.observed}")
        out += [f"  also rejected on {o}" for o in self.other]
        if self.history and (self.status != AGREES or self.verdict == REFUTED):
            out.append("  history:")
            out += [f"    {e!r}" for e in self.history]
        return out

    def to_json(self) -> dict[str, Any]:
        v = self.violation
        return {
            "status": self.status,
            "verdict": self.verdict,
            "property_clause": self.clause,
            "contract_clause": v.clause if v is not None else None,
            "form": self.form,
            "contract": self.contract,
            "reason": self.reason,
            "expected": v.expected if v is not None else None,
            "observed": v.observed if v is not None else None,
            "other": list(self.other),
            "history": [repr(e) for e in self.history],
            "states": self.states,
            "seconds": round(self.seconds, 4),
        }


def contract_for(row: Row, prop: Property) -> tuple[Contract, str]:
    """The contract a row's histories are judged under, and how to name it."""
    proto = protocol_by_id(row.protocol)
    pol = policy(proto.policy).asked_for(prop.clause)
    durable = prop.refines.durable or (pol.buffered and proto.durable)
    name = pol.name + (", durable = True" if durable and pol.buffered else "")
    return Contract(pol, staleness_bound=TTL, durable=durable), name


# ---- translation ---------------------------------------------------------------------------

@attrs.frozen(slots=True)
class _Where:
    """The translation's own state beside the protocol's: the time, and for each client
    the id of its operation in flight (0: none) and how many it has invoked."""

    now: float
    open_ops: tuple[int, ...]
    invoked: tuple[int, ...]
    db_seen: int  # the DB's value at the last DbObserved (its code)


class _Translation:
    """Turns steps of a protocol model into history events."""

    def __init__(self, ex: Exploration, contract: Contract):
        self.ex = ex
        self.system: TransitionSystem = ex.system
        self.contract = contract
        self.names = [c.name for c in self.system.scenario.clients]
        index = self.system.index()
        self.db = index["db"]
        self.cache = index["cache"]
        self.ttl = protocol_by_id(self.system.protocol).fill_ttl
        self.variables = [v.name for v in self.system.variables]

    def start(self) -> tuple[_Where, KeyMonitor]:
        n = len(self.names)
        where = _Where(0.0, (0,) * n, (0,) * n, INITIAL)
        return where, KeyMonitor(self.contract, KEY, self._value(INITIAL), MONITOR_LIMIT)

    def _value(self, code: int) -> str | None:
        sc = self.system.scenario
        return None if code == ABSENT or code >= sc.value_count else sc.value_name(code)

    def _cached(self, state: tuple[int, ...]) -> str | None:
        # A lease token is no value: the model's reads treat it as a miss (the `cached`
        # observable of the properties reads it the same way).
        return self._value(state[self.cache])

    def step(self, where: _Where, s: tuple[int, ...], a: int,
             t: tuple[int, ...]) -> tuple[_Where, list[Event]]:
        """The events of action `a` from state `s` to `t`, and the translation's next state."""
        act = self.system.actions[a]
        events: list[Event] = []
        open_ops, invoked = list(where.open_ops), list(where.invoked)
        if act.actor == "env":
            now = where.now + (TTL + 1.0 if act.fault == CLOCK_ADVANCE else 1.0)
            if act.fault == CLOCK_ADVANCE:
                events.append(Tick(now))
            elif act.fault == "crash":
                for i, op in enumerate(open_ops):
                    if op:
                        events.append(Fail(op, "crashed", now))
                        open_ops[i] = 0
                cached = self._cached(s)
                entry = (CacheEntry(KEY, cached, now + TTL if self.ttl else None),) if cached else ()
                events.append(Crash(now, self.contract.durable, entry))
            else:
                events.append(Fault(str(act.fault), now))
        else:
            now = where.now + 1.0
            i = self.names.index(act.actor)
            assert act.op is not None
            op = self.system.scenario.clients[i].ops[act.op]
            if not open_ops[i]:
                invoked[i] += 1
                open_ops[i] = invoked[i] * 100 + i + 1  # unique, and the same on every path
                value = self._value(op.value) if op.kind == "write" and op.value else None
                events.append(Invoke(open_ops[i], act.actor, op.kind,  # type: ignore[arg-type]
                                     KEY if op.kind != "flush" else None, value, now))
            if act.outcome == "ok":
                result = None
                if act.result is not None:
                    env = dict(zip(self.variables, s, strict=True))
                    result = self._value(int(evaluate(act.result, env)))
                events.append(Ok(open_ops[i], result, now))
                open_ops[i] = 0
            elif act.outcome == "fail":
                events.append(Fail(open_ops[i], "raised", now))
                open_ops[i] = 0
        db_seen = where.db_seen
        if not any(open_ops) and t[self.db] != db_seen:
            db_seen = t[self.db]
            events.append(DbObserved(KEY, self._value(db_seen), now))
        return _Where(now, tuple(open_ops), tuple(invoked), db_seen), events

    def finish(self, where: _Where, s: tuple[int, ...]) -> tuple[list[Event], list[Event]]:
        """The harness's end of run, as two observations judged apart (each from the state
        at quiescence, so that neither hides the other's verdict): every TTL runs out, then
        one observer read and the DB; every TTL runs out, then the cache entry."""
        now = where.now + TTL + 1.0
        cached = None if self.ttl else self._cached(s)
        db = self._value(s[self.db])
        observe: list[Event] = [
            Tick(now),
            Invoke(_OBSERVER_OP, _OBSERVER, "read", KEY, None, now + 1),
            Ok(_OBSERVER_OP, cached if cached is not None else db, now + 1),
            DbObserved(KEY, db, now + 2),
        ]
        # Convergence is judged once pending work is flushed; the translation runs only
        # the scenario's operations, so under a buffered policy it cannot judge it.
        converge: list[Event] = []
        if not self.contract.policy.buffered and cached is not None:
            converge = [Tick(now), CacheObserved(KEY, cached, None, db, now + 1)]
        return observe, converge


def _feed(mon: KeyMonitor, events: list[Event]) -> Violation | str | None:
    for e in events:
        r = mon.feed(e)
        if r is not None:
            return r
    return None


class _Bound(Exception):
    """A bound of the exploration was hit (UNKNOWN, with the reason)."""


@attrs.define
class _Search:
    """The product exploration from one start, memoized."""

    tr: _Translation
    limit: int
    seen: set[tuple[int, _Where, Any]] = attrs.field(factory=set)

    def histories(self, node: int, where: _Where, mon: KeyMonitor, prefix: tuple[Event, ...]
                  ) -> Iterator[tuple[tuple[Event, ...], tuple[Violation, ...]]]:
        """Every distinct product path to quiescence from here, as (history, the violations
        that reject it); a path a violation rejects stops there."""
        ex = self.tr.ex
        stack = [(node, where, mon, prefix, 0)]
        while stack:
            node, where, mon, history, depth = stack.pop()
            key = (node, where, mon.signature())
            if key in self.seen:
                continue
            self.seen.add(key)
            if len(self.seen) > self.limit:
                raise _Bound(f"more than {self.limit} product states")
            if depth > MAX_STEPS:
                raise _Bound(f"a run longer than {MAX_STEPS} steps (the time encoding needs runs "
                             f"far shorter than the TTL)")
            s = ex.states[node]
            edges = list(ex.graph.out_edges(node, data="action"))
            if not edges:
                found, shown = [], history
                for events in self.tr.finish(where, s):
                    r = _feed(mon.fork(), events)
                    if isinstance(r, str):
                        raise _Bound(r)
                    shown += tuple(e for e in events if e not in shown[len(history):])
                    if r is not None:
                        found.append(r)
                yield shown, tuple(found)
                continue
            for _, nxt, a in edges:
                w2, events = self.tr.step(where, s, a, ex.states[nxt])
                twin = mon.fork()
                r = _feed(twin, events)
                if isinstance(r, str):
                    raise _Bound(r)
                if r is not None:
                    yield history + tuple(events), (r,)
                    continue
                stack.append((nxt, w2, twin, history + tuple(events), depth + 1))


def _form(row: Row, prop: Property) -> tuple[str, str | None]:
    more = prop.refines.asks_more(protocol_by_id(row.protocol))
    if more is not None:
        return f"asks more: {more}", more
    return prop.refines.form, None


def check(row: Row, prop: Property, ex: Exploration, verdict: str, *,
          limit: int = DEFAULT_LIMIT) -> Refinement:
    """Check the explicit engine's `verdict` on `row` against the contract.

    Args:
        row: the row (its protocol and scenario); `ex` is its exploration.
        prop: the row's property.
        ex: the explicit engine's exploration of the row's system.
        verdict: PROVED or REFUTED, as the explicit engine found.
        limit: product states explored before UNKNOWN.
    """
    start = time.perf_counter()
    contract, cname = contract_for(row, prop)
    form, asks_more = _form(row, prop)
    clause = prop.clause
    tr = _Translation(ex, contract)
    search = _Search(tr, limit)

    def done(status: str, reason: str, violation: Violation | None = None,
             history: tuple[Event, ...] = (), other: tuple[str, ...] = ()) -> Refinement:
        return Refinement(status, verdict, clause, form, cname, reason, violation, history, other,
                          len(search.seen), time.perf_counter() - start)

    where, mon = tr.start()
    try:
        if verdict == PROVED:
            rejected: dict[str, int] = {}
            first_other: tuple[tuple[Event, ...], Violation] | None = None
            for history, found in search.histories(ex.initial, where, mon, ()):
                if not found:
                    continue
                v = next((f for f in found if f.clause == clause), found[0])
                if v.clause == clause:
                    if prop.refines.form == PARTIAL:
                        return done(GAP, f"the property is partial ({prop.refines.reading}): "
                                    f"the contract rejects a history on {clause} it does not see",
                                    v, history)
                    return done(DISAGREES, f"PROVED, but the contract rejects a history on {clause}",
                                v, history)
                rejected[v.clause] = rejected.get(v.clause, 0) + 1
                first_other = first_other or (history, v)
            other = tuple(f"{c}: {n} histor{'y' if n == 1 else 'ies'}" for c, n in sorted(rejected.items()))
            if prop.refines.form == PARTIAL:
                return done(GAP, f"the property is partial ({prop.refines.reading}); no history is "
                            f"rejected on {clause} in this scenario", other=other)
            return done(AGREES, f"no history of this scenario is rejected on {clause}", other=other)
        if verdict != REFUTED:
            return done(UNKNOWN, f"no verdict to check ({verdict})")
        bad = bad_states(ex, prop)[0]
        history: tuple[Event, ...] = ()
        for node, a in ex.path_to(bad):
            nxt = next(v for _, v, act in ex.graph.out_edges(node, data="action") if act == a)
            where, events = tr.step(where, ex.states[node], a, ex.states[nxt])
            history += tuple(events)
            r = _feed(mon, events)
            if isinstance(r, str):
                raise _Bound(r)
            if r is not None:
                return done(AGREES, "the contract rejects the counterexample's history", r, history)
        for full, found in search.histories(bad, where, mon, history):
            if found:
                v = next((f for f in found if f.clause == clause), found[0])
                extra = sum(1 for e in full[len(history):] if isinstance(e, Invoke)) - 1
                more = f", {extra} more operation{'s' if extra != 1 else ''}" if extra else ""
                return done(AGREES, "the contract rejects the counterexample's history, run on "
                            f"to quiescence (the end-of-run observations{more})", v, full)
        if asks_more is not None:
            return done(GAP, f"the property asks more of this protocol than {clause} ({asks_more}); "
                        "the contract accepts every continuation of the counterexample")
        return done(DISAGREES, "REFUTED, but the contract accepts the counterexample's history "
                    "and every continuation of it to quiescence")
    except _Bound as e:
        return done(UNKNOWN, f"exploration bound hit: {e}")
