"""Online checking of a history against a contract, key by key.

Keys are independent under every policy (a write or read touches one key), so a history
is checked per key (P-compositionality): the explanations of one key never multiply with
those of another. Events without a key (faults, crashes, flushes, the clock) go to every
key. When no explanation survives, the clause is attributed from what was observed.

Exact mode. Under the synchronous policies whose DB moves with the value (write-through,
cache-aside, read-through: neither buffered nor bounded staleness) the reads, the DB
observations, durability on ack and no regression are all one question: is the key's
history linearizable as a register, a DB observation being a read at one instant? With
unique written values `model.register` decides it exactly, with no explanation search
and no budget. The contract stays the source of the stale-entry rules (its `_fault`,
`_crash`, `_prune`, kept on one state: unbuffered, without bounded staleness, every
explanation has the same stale entries) and of convergence: a read whose result was
stale-readable (`Contract.readable`) at one of the moments the contract linearizes reads
(each observation of the key while the read is open) is given to the register as a failed
read, which constrains nothing, exactly as the relaxation does. A value written again
while an earlier write of it can still be read (`NotUnique`) sends the key back to the
explanation search, replayed from the key's first event, with its budget.

Memory. Given a `replay` (the key's events again, from its first: a list in memory, or a
file read a second time), an exact monitor keeps only what decides the verdict: the
register (open operations and the values that can still be read), the stale entries and
the open reads. What only words a violation (which values were written, read, failed, seen
in the DB) is found again on a replay, by a monitor that keeps it, once. Without a replay
(a history fed live, nothing to read again) the monitor keeps the key's events itself.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

from attrs import evolve

from model import register as reg
from model.contract import Contract, Explanations
from model.events import (
    CacheObserved,
    Crash,
    DbObserved,
    Event,
    Fail,
    Fault,
    History,
    Invoke,
    Ok,
    Tick,
)
from model.state import KeyState
from model.verdict import CONFORMS, UNKNOWN, VIOLATES, Verdict, Violation
from model.vocabulary import DELETE, WRITES

__all__ = ["KeyMonitor", "Monitor", "check_history", "DEFAULT_STATE_LIMIT"]

DEFAULT_STATE_LIMIT = 20_000


class KeyMonitor:
    """The explanations of one key, fed one event at a time."""

    def __init__(self, contract: Contract, key: str, initial: str | None = None, limit: int = DEFAULT_STATE_LIMIT,
                 exact: bool | None = None, replay: Callable[[], Iterable[Event]] | None = None):
        """`exact`: decide the register clauses with `model.register` (see the module
        docstring); None: wherever the policy allows it, False: always by the search.
        `replay`: the events fed so far, again, from the first, through the last one fed
        (see Memory in the module docstring)."""
        self.contract = contract
        self.key = key
        self.limit = limit
        self.initial = initial
        self.states: Explanations = contract.initial(initial)
        self.now = 0.0
        # Facts for attributing a clause when every explanation dies.
        self.order: dict[str | None, int] = {initial: -1}
        self._order_next = 1  # the next position in `order` (see `_written`)
        self.db_seen: int = -1
        self.last_completed: str | None = None
        self.crashed = False
        self._kinds: dict[int, str] = {}
        self._values: dict[int, str | None] = {}
        self.failed_writes: set[str | None] = set()
        self._before_read: tuple[Explanations, Ok] | None = None
        self.read_values: list[str | None] = []
        # The time at which `states` is known closed under internal moves (see
        # Contract.keeps_closed): the next observation at that time skips the closure.
        self._closed_at: float | None = None
        p = contract.policy
        if exact is None:
            exact = not p.buffered and not p.bounded_staleness
        elif exact and (p.buffered or p.bounded_staleness):
            raise ValueError(f"{p.name}: its DB does not move with the value; no exact mode")
        self.register: reg.RegisterChecker | None = None
        if exact:
            self.register = reg.RegisterChecker({key: initial})
            self.states = {}
            # The stale entries, on one state whose value no read can return.
            self._stale = KeyState(value=_NO_VALUE, db=_NO_VALUE)  # type: ignore[arg-type]
            self._open: dict[int, dict[str | None, str]] = {}  # open read -> stale-readable value -> note
            self._notes: list[str] = []
            self._db_values: set[str | None] = set()
            self._replay = replay
            # Without a replay: the key's events, to replay on NotUnique and to word a violation.
            self._log: list[Event] = []

    def feed(self, event: Event) -> Violation | None | str:
        """Apply `event`; return a Violation, None, or the string reason of an UNKNOWN."""
        if self.register is not None:
            return self._feed_exact(event)
        if event.time > self.now:
            self.now = event.time
        now = self.now
        # Every event passes here (several per step of a check): one type test per kind.
        if isinstance(event, DbObserved):
            pass
        elif isinstance(event, Ok):
            if self._kinds.get(event.op) == "read":
                self.read_values.append(event.result)
                # Kept to tell, if the DB contradicts the read later, that the read was wrong.
                self._before_read = (self.states, event)
        elif isinstance(event, Invoke):
            self._kinds[event.op] = event.kind
            if event.kind != "read":
                self._before_read = None
                if event.kind in WRITES:
                    self._written(event)
                    self._values[event.op] = event.value
        elif isinstance(event, Fail):
            if self._kinds.get(event.op) == "write":
                self.failed_writes.add(self._values.get(event.op))
        elif isinstance(event, (Fault, Crash)):
            if isinstance(event, Fault):
                self._before_read = None  # a crash keeps it: the read's states stay comparable
            if event.cache:
                event = evolve(event, cache=tuple(c for c in event.cache if c.key == self.key))  # type: ignore[arg-type]
        before = self.states
        after = self.contract.observe(before, event, now, self.limit, closed=self._closed_at == now)
        self._closed_at = now if self.contract.keeps_closed(event) else None
        if after is None:
            return f"more than {self.limit} explanations for key {self.key!r}"
        if isinstance(event, Ok):
            self.last_completed = self._kinds.get(event.op)
        elif isinstance(event, Crash):
            self.crashed = True
        if not after:
            return self._attribute(before, event)
        self.states = after
        if isinstance(event, DbObserved):
            self.db_seen = max(self.db_seen, self.order.get(event.value, -2))
        return None

    def _written(self, event: Invoke) -> None:
        """Note the order of a written value, for attributing a clause: a value's first
        write, except None, which each delete writes again (a DB that goes back from
        None to a value written before the delete regressed)."""
        if event.kind == DELETE:
            self.order[None] = self._order_next
        elif event.value not in self.order:
            self.order[event.value] = self._order_next
        else:
            return
        self._order_next += 1

    # ---- exact mode -------------------------------------------------------------------

    def _feed_exact(self, event: Event) -> Violation | None | str:
        # With a replay, nothing grows with the key's history: only deciding state is kept.
        facts = self._replay is None
        if facts:
            self._log.append(event)
        if event.time > self.now:
            self.now = event.time
        now = self.now
        rg = self.register
        assert rg is not None
        if isinstance(event, (Ok, DbObserved, Crash)):
            # A moment at which the contract linearizes the open reads (its closure).
            self._stale_moment(now)
        try:
            if isinstance(event, DbObserved):
                conflict = rg.run(((reg.DB, None, self.key, event.value),))
                if conflict is not None:
                    return self._attribute_exact(conflict, event)
                if facts:
                    self.db_seen = max(self.db_seen, self.order.get(event.value, -2))
                    self._db_values.add(event.value)
                return None
            if isinstance(event, Ok):
                kind = self._kinds.pop(event.op, None)
                self.last_completed = kind
                stale: dict[str | None, str] = {}
                if kind == "read":
                    if facts:
                        self.read_values.append(event.result)
                        self._before_read = (self.states, event)
                    stale = self._open.pop(event.op, {})
                    if event.result in stale:
                        note = stale[event.result]
                        twin = copy.deepcopy(rg)
                        if twin.run(((reg.OK, event.op, None, event.result),)) is not None:
                            self._notes.append(note)
                        rg.run(((reg.FAIL, event.op, None, None),))
                        return None
                conflict = rg.run(((reg.OK, event.op, None, event.result),))
                if conflict is not None:
                    return self._attribute_exact(conflict, event, stale if kind == "read" else {})
                return None
            if isinstance(event, Invoke):
                self._kinds[event.op] = event.kind
                if event.kind == "read":
                    self._open[event.op] = {}
                    rg.run(((reg.READ, event.op, self.key, None),))
                else:
                    self._before_read = None
                    if event.kind in WRITES:
                        if facts:
                            self._written(event)
                            self._values[event.op] = event.value
                        rg.run(((reg.WRITE, event.op, self.key, event.value),))
                return None
            if isinstance(event, Fail):
                if self._kinds.pop(event.op, None) == "write" and facts:
                    self.failed_writes.add(self._values.get(event.op))
                self._open.pop(event.op, None)
                rg.run(((reg.FAIL, event.op, None, None),))
                return None
            if isinstance(event, CacheObserved):
                return None if self.contract.converged(event) else self._unconverged(event)
            if isinstance(event, (Fault, Crash)):
                if isinstance(event, Fault):
                    self._before_read = None
                if event.cache:
                    event = evolve(event, cache=tuple(c for c in event.cache if c.key == self.key))  # type: ignore[arg-type]
            if isinstance(event, (Fault, Crash, Tick)):
                (self._stale,) = self.contract.observe({self._stale: ()}, event, now, self.limit)  # type: ignore[union-attr]
                if isinstance(event, Crash):
                    self.crashed = True
                    self._open.clear()
                    rg.run(((reg.CRASH, None, None, None),))
            return None
        except reg.NotUnique:
            return self._fall_back()

    def _stale_moment(self, now: float) -> None:
        if not self._open or not self._stale.stale:
            return
        readable = [(v, n) for v, n in self.contract.readable(self._stale, now) if n is not None]
        for seen in self._open.values():
            for v, n in readable:
                seen.setdefault(v, n)

    def _fall_back(self) -> Violation | None | str:
        """A value written twice while both writes can be read: the explanation search,
        from the key's first event."""
        log = self._log if self._replay is None else self._replay()
        twin = KeyMonitor(self.contract, self.key, self.initial, self.limit, exact=False)
        for e in log:
            r = twin.feed(e)
            if r is not None:
                vars(self).clear()
                vars(self).update(vars(twin))
                return r
        vars(self).clear()
        vars(self).update(vars(twin))
        return None

    def _replayed(self) -> KeyMonitor:
        """An exact monitor fed every event of the key but the last."""
        twin = KeyMonitor(self.contract, self.key, self.initial, self.limit)
        for e in self._log[:-1]:
            twin.feed(e)
        return twin

    def _allowed(self, before: KeyMonitor, probe: Any, stale: Iterable[str | None] = ()) -> list[str]:
        """The values (repr) for which `probe(value)` completes no conflict from `before`,
        and the `stale` ones."""
        rg = before.register
        assert rg is not None
        out = [repr(v) for v in stale]  # readable with a relaxation: no constraint
        for v in set(rg.values(self.key)):
            if copy.deepcopy(rg).run((probe(v),)) is None:
                out.append(repr(v))
        return sorted(set(out))

    def _attribute_exact(self, conflict: reg.Conflict, event: Ok | DbObserved,
                         stale: Iterable[str | None] = ()) -> Violation | str:
        if self._replay is not None:
            return self._attribute_replayed(event)
        p = self.contract.policy
        before = self._replayed()
        if isinstance(event, Ok):
            allowed = self._allowed(before, lambda v: (reg.OK, event.op, None, v), stale)
            clause = "no-phantom" if event.result not in self.order else p.read_clause
            return Violation(clause, self.key, "one of " + ", ".join(allowed), repr(event.result), event)
        allowed_db = ", ".join(self._allowed(before, lambda v: (reg.DB, None, self.key, v)))
        seen = self.order.get(event.value)
        phantoms = [v for v in self.read_values if v in self.failed_writes and v != event.value
                    and self.order.get(v, -1) > (seen if seen is not None else -1)]
        if seen is None:
            clause = "no-phantom"
        elif phantoms:
            return Violation(
                "no-phantom", self.key,
                f"a read returns only values the DB got; DB holds one of {allowed_db} if {phantoms[-1]!r} took effect",
                f"a read returned {phantoms[-1]!r}, whose write failed, but the DB holds {event.value!r}",
                event,
            )
        elif (self._before_read is not None and self._before_read[1].result != event.value
              and conflict.kind == "order" and conflict.other == self._before_read[1].result):
            read = self._before_read[1]
            return Violation(p.read_clause, self.key,
                             f"reads return the latest write; the DB holds {event.value!r}",
                             f"read #{read.op} returned {read.result!r}", read)
        elif seen < self.db_seen or (conflict.kind == "order" and conflict.other in self._db_values):
            clause = "no-regression"
        else:
            clause = "durable-on-ack"
        return Violation(clause, self.key, f"DB holds one of {allowed_db}", f"DB holds {event.value!r}", event)

    def _attribute_replayed(self, event: Ok | DbObserved) -> Violation | str:
        """The violation at `event` as a monitor that keeps the key's facts words it, fed
        the key's events again."""
        twin = KeyMonitor(self.contract, self.key, self.initial, self.limit, exact=True)
        for e in self._replay():  # type: ignore[misc]
            r = twin.feed(e)
            if r is not None:
                return r
        return (f"key {self.key!r}: the history read again did not break where it first broke "
                f"({event!r}): it changed while it was being checked")

    def relaxations(self) -> tuple[str, ...]:
        if self.register is not None:
            return tuple(dict.fromkeys(self._notes))
        if not self.states:
            return ()
        return min(self.states.values(), key=len)

    def fork(self) -> KeyMonitor:
        """An independent copy, to be fed separately from here on: several continuations
        of one history are checked without replaying the prefix they share."""
        twin = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, (dict, set, list)):
                setattr(twin, name, value.copy())
        if self.register is not None:
            twin.register = copy.deepcopy(self.register)
            twin._open = {op: seen.copy() for op, seen in self._open.items()}
        return twin

    def signature(self) -> Hashable:
        """Everything the verdicts on any continuation depend on, hashable: two monitors of
        the same contract and key with equal signatures judge every continuation alike
        (the relaxation notes of an explanation are left out: they never decide one)."""
        own = tuple(
            (name, frozenset(value) if name == "states" else _frozen(value))
            for name, value in sorted(vars(self).items())
            if name not in ("contract", "key", "limit", "register", "_log", "_notes", "initial")
        )
        if self.register is None:
            return own
        return own + (("register", self.register.signature()),)

    def _attribute(self, before: Explanations, event: Event) -> Violation:
        if isinstance(event, CacheObserved):
            return self._unconverged(event)
        closed = self.contract.closure(before, self.now, self.limit) or before
        p = self.contract.policy
        if isinstance(event, Ok):
            kind = self._kinds.get(event.op, "?")
            if kind == "read":
                allowed = sorted(
                    {repr(v) for s in closed for v, _ in self.contract.readable(s, self.now)}
                )
                if event.result not in self.order:
                    clause = "no-phantom"
                elif p.buffered and self.crashed:
                    clause = "bounded-loss"
                else:
                    clause = p.read_clause
                return Violation(clause, self.key, "one of " + ", ".join(allowed), repr(event.result), event)
            return Violation(
                "durable-on-ack" if not p.buffered else "eventual-persistence",
                self.key,
                f"{kind} #{event.op} can take effect",
                f"{kind} #{event.op} returned but no order of operations explains it",
                event,
            )
        if isinstance(event, DbObserved):
            allowed = ", ".join(sorted({repr(s.db) for s in closed}))
            seen = self.order.get(event.value)
            phantoms = [v for v in self.read_values if v in self.failed_writes and v != event.value
                         and self.order.get(v, -1) > (seen if seen is not None else -1)]
            if seen is None:
                clause = "no-phantom"
            elif phantoms and not p.buffered:
                return Violation(
                    "no-phantom", self.key,
                    f"a read returns only values the DB got; DB holds one of {allowed} if {phantoms[-1]!r} took effect",
                    f"a read returned {phantoms[-1]!r}, whose write failed, but the DB holds {event.value!r}",
                    event,
                )
            elif (stale := self._stale_read(event)) is not None:
                return stale
            elif seen < self.db_seen:
                clause = "no-regression"
            elif p.buffered and self.crashed:
                clause = "bounded-loss"
            elif p.buffered:
                clause = "eventual-persistence"
            else:
                clause = "durable-on-ack"
            return Violation(clause, self.key, f"DB holds one of {allowed}", f"DB holds {event.value!r}", event)
        return Violation(
            p.read_clause, self.key, "an explanation of the event", f"none for {event!r}", event
        )

    def _unconverged(self, event: CacheObserved) -> Violation:
        ttl = "no TTL" if event.expires_at is None else f"expires at t={event.expires_at:g}"
        return Violation(
            "convergence", self.key, f"the cached entry equals the DB's value {event.db_value!r}",
            f"the cache holds {event.value!r} ({ttl}) after faults healed, work was flushed "
            "and TTLs ran out",
            event,
        )

    def _stale_read(self, event: DbObserved) -> Violation | None:
        """The DB's value was still explainable until the last read: the read was stale."""
        if self._before_read is None or self.contract.policy.buffered:
            return None
        prior, read = self._before_read
        if read.result == event.value:
            return None
        again = self.contract.closure(prior, self.now, self.limit) or prior
        if not any(s.db == event.value for s in again):
            return None
        return Violation(self.contract.policy.read_clause, self.key,
                         f"reads return the latest write; the DB holds {event.value!r}",
                         f"read #{read.op} returned {read.result!r}", read)


_NO_VALUE = "\x00 no value: the stale entries' state"


def _frozen(value: Any) -> Hashable:
    if isinstance(value, dict):
        return frozenset((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value  # type: ignore[no-any-return]


class Monitor:
    """Every key's monitor; routes each event to the keys it concerns.

    `source`: the whole history again, from its first event (called at most once per key,
    on a violation or a fall-back to the search): with it, the key monitors keep no log of
    their own (see Memory in the module docstring)."""

    def __init__(self, contract: Contract, initial: dict[str, str | None] | None = None, limit: int = DEFAULT_STATE_LIMIT,
                 exact: bool | None = None, source: Callable[[], Iterable[Event]] | None = None):
        self.contract = contract
        self.limit = limit
        self.exact = exact
        self.initial = dict(initial or {})
        self.keys: dict[str, KeyMonitor] = {}
        self.globals: list[Event] = []
        self._op_key: dict[int, str | None] = {}  # open operations only
        self._source = source
        self.fed = 0  # events fed so far: how far a replay reads
        for k, v in self.initial.items():
            self._monitor(k)

    def _monitor(self, key: str) -> KeyMonitor:
        m = self.keys.get(key)
        if m is None:
            replay = None if self._source is None else (lambda: self._replayed(key))
            m = self.keys[key] = KeyMonitor(self.contract, key, self.initial.get(key), self.limit, self.exact,
                                            replay)
            # A key first seen late still has to see the global events before it.
            for e in self.globals:
                m.feed(e)
        return m

    def _route(self, event: Event, op_key: dict[int, str | None]) -> str | None:
        """The key `event` concerns (None: every key), as `feed` routes it."""
        if isinstance(event, (DbObserved, CacheObserved)):
            return event.key
        if isinstance(event, (Ok, Fail)):
            return op_key.pop(event.op, None)
        if isinstance(event, Invoke):
            op_key[event.op] = event.key
            return event.key
        if isinstance(event, Fault):
            return event.key
        return None

    def _replayed(self, key: str) -> Iterator[Event]:
        """The events `key`'s monitor was fed, again, from the source."""
        assert self._source is not None
        op_key: dict[int, str | None] = {}
        for i, e in enumerate(self._source()):
            if i >= self.fed:
                return
            k = self._route(e, op_key)
            if k is None or k == key:
                yield e

    def feed(self, event: Event) -> Violation | None | str:
        self.fed += 1
        # Most events concern one key: they go straight to its monitor.
        key = self._route(event, self._op_key)
        if key is not None:
            return self._monitor(key).feed(event)
        self.globals.append(event)
        for m in list(self.keys.values()):
            r = m.feed(event)
            if r is not None:
                return r
        return None

    def relaxations(self) -> tuple[str, ...]:
        out: list[str] = []
        for k, m in self.keys.items():
            out += [f"{k!r}: {n}" for n in m.relaxations()]
        return tuple(out)


def check_history(contract: Contract, history: History | Iterable[Event], initial: dict[str, str | None] | None = None, limit: int = DEFAULT_STATE_LIMIT,
                  exact: bool | None = None, replay: Callable[[], Iterable[Event]] | None = None) -> Verdict:
    """Check a whole history; CONFORMS, VIOLATES with the first violation, or UNKNOWN
    when the number of explanations of a key exceeds `limit` (never for a key that the
    exact mode decides: see the module docstring; `exact=False` searches everywhere).

    `replay`: `history` again from its first event, for a history read from a stream (a
    list or tuple is its own replay); with one, memory grows with the open operations and
    the values that can still be read, not with the history."""
    if replay is None and isinstance(history, (list, tuple, History)):
        events = history.events if isinstance(history, History) else history
        replay = lambda: iter(events)  # noqa: E731
    mon = Monitor(contract, initial, limit, exact, replay)
    for e in history:
        r = mon.feed(e)
        if isinstance(r, Violation):
            return Verdict(VIOLATES, r)
        if isinstance(r, str):
            return Verdict(UNKNOWN, reason=r)
    return Verdict(CONFORMS, relaxations=mon.relaxations())
