"""Exact, streaming linearizability of a read/write register with unique written values.

The contract machinery (model.contract) searches explanations and may run out of budget;
for the linearizable-reads clause of a register, with every written value unique, it
needs no search. This module decides it exactly, in one pass over a key's events in time
order, in O(1) amortized work per event for histories whose operations are short, with
memory proportional to the operations open and the values that can still be read. It
restates the register's semantics on purpose: it is an oracle checked against the
contract machinery and against the exhaustive reference in the tests
(tests/model/test_register_differential.py), and they against it.

Semantics (per key). Time is the position of an event in the history. A write completed
with Ok takes effect once inside its interval. A write that failed, or is still open, is
indeterminate: it takes effect once at any moment after its invocation, or never. A crash
ends every open operation (an open write becomes indeterminate, an open read never
returns), and every indeterminate write invoked before a crash takes effect before it or
never (a dead process applies nothing later). A read returns the latest write that took
effect before it, or the initial value. A DB observation is a read at one instant
(write-through: what reads return and the DB move together). A failed read says nothing.

The structure (Gibbons & Korach, "Testing shared memories", SIAM J. Comput. 1997; the
"zones" of Golab, Li & Shah, PODC 2011). With unique values, each read names the write it
read from: a value's write and its reads form its *cluster* C. Let f(C) be the earliest
response among C's operations and s(C) the latest invocation. In any linearization the
operations of a cluster are contiguous (the write, then its reads, before the next
write takes effect), so clusters are totally ordered; and if an operation of D responds
before an operation of C is invoked (f(D) < s(C)), D's block must come before C's.

Theorem. The history is linearizable iff (1) every read returns a value whose write was
invoked before the read responded (or the initial value), and (2) no two clusters C != D
have both f(C) < s(D) and f(D) < s(C).

Necessity: (1) is plain; under (2) each of C and D would have to come first. Sufficiency:
by (2), the clusters with f(C) < s(C) (forward zones [f, s]) are pairwise disjoint, and no
cluster with s(D) < f(D) (a backward zone [s, f]) has its zone inside a forward one
((2) with a forward C reads exactly "the zones overlap", or "D's zone is inside C's").
Place each forward cluster's operations at points inside [f, s] (every operation of C is
invoked by s and responds after f, so its interval meets [f, s]; the write first: (1)
puts its invocation before every read's response), and each backward cluster at one
instant of (s, f) (all its operations are open then) that lies outside every forward
zone (it exists: a connected interval not inside one of finitely many disjoint closed
intervals leaves all of them somewhere). Every point lies in its operation's interval,
so real-time order holds; blocks do not interleave, so every read sees its own write.

Indeterminate writes. One that no read returns can be left out (removing it leaves every
read's latest write unchanged); one that a read returns must have taken effect, anywhere
after its invocation, before the next crash: it is exactly a write whose response is that
crash (or never, without one). So the theorem applies to the required operations plus the
read indeterminate writes, with those response times.

The sweep. Responses arrive in time order, so f(C) is fixed by the first response among
C's operations (for an indeterminate write first read after a crash: the crash); s(C)
grows when a read of C completes. A violation of (2) between C and D is found when the
later of the reads fixing s(C) and s(D) completes: at that moment every quantity involved
is final. So at each read of C: is there D != C with f(D) < s(C) and s(D) > f(C)? Clusters
whose f precedes the invocation m of the oldest open read ("old") qualify for every
future query, so only the two largest s among them matter; the others ("recent", f >= m)
are scanned, in f order, and migrate to the old summary as m advances. An old cluster C
whose every future read would be a violation (some old D != C has s(D) > f(C)) is dead:
it is dropped, which bounds memory by the clusters that can still be read (writes open
or failed and unread, and the few whose operations overlap the present).

A value written again after its first cluster died starts a new cluster (each write of
it a distinct cluster): exact, because no read can be explained by the dead one. Two live
clusters of one value are outside this algorithm (`NotUnique`).

Deletes. A delete is a write of None (model.vocabulary.WRITES), so None, the initial value
of a key never written, is a value written many times. Each delete is its own cluster, a
distinct tombstone, and a read of None (or a DB observation of no row) is matched against
the tombstones, and the initial None, by the rule above: the clusters of None never
overlap in life, because a delete invoked while an earlier None cluster (the initial one
or an earlier delete's) can still be read raises `NotUnique`. So a read of None names
exactly one live cluster, the only one that can explain it (a read of a dead one is a
violation whichever it would be), and every read's write is determined, as the theorem
needs: the algorithm stays exact, never guessing among tombstones. Letting a read of None
stand for any of several live tombstones was rejected, for the reason repeated values are
(docs/HISTORY.md): a read would stand for a set of writes, the NP-complete problem. A key
whose delete meets a live None cluster (a delete of a key never written, two deletes with
no write between them that has made the first unreadable) goes to the explanation search
with its budget (model.monitor), as a repeated value does.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Literal

from attrs import frozen

from model.events import Crash, DbObserved, Event, Fail, Invoke, Ok
from model.verdict import CONFORMS, VIOLATES, Verdict, Violation
from model.vocabulary import WRITES

__all__ = ["CRASH", "DB", "FAIL", "NOTHING", "OK", "READ", "WRITE", "Conflict", "NotUnique", "RegisterChecker",
           "Row", "check_register", "evidence_events", "rows"]

_NEVER = 1 << 62  # later than any event
_OPEN, _LIMBO, _LIVE, _DEAD = 0, 1, 2, 3


class NotUnique(ValueError):
    """A value was written while another write of it can still be read: the reads no
    longer say which write they read from, and this algorithm does not apply."""


@frozen
class Conflict:
    """Why a register history is not linearizable, with the operations that show it.

    Attributes:
        key: the key.
        kind: "unwritten" (the value read was never written on this key before the read
            completed, or "unreadable" when it may also have been overwritten for good and
            the checker no longer holds it; see `check_register`), or "order" (two
            clusters each of which must precede the other).
        value: the value read.
        at: the read (its op id) or DB observation (("event", t)) that completed it.
        t: the position (from 1) of the event that completed it, among those fed.
        other: the value of the other cluster, for "order".
        evidence: the operations (op ids; DB observations and crashes as ("event", t))
            whose intervals make up the violation: the two clusters' writes, the operations
            fixing each one's earliest response and latest invocation. Checked alone, they
            violate too: a small sub-history to shrink from (`evidence_events`).
        explanation: one sentence.
    """

    key: str
    kind: Literal["unwritten", "unreadable", "order"]
    value: str | None
    at: Hashable
    t: int
    other: str | None = None
    evidence: tuple[Hashable, ...] = ()
    explanation: str = ""


class _Cluster:
    """A value's write and the reads that returned it; see the module docstring."""

    __slots__ = ("f", "f_by", "key", "old", "s", "s_by", "state", "value", "write")

    def __init__(self, key: _Key | None, value: str | None, write: Hashable, invoked: int):
        self.key = key
        self.value = value
        self.write = write
        # The earliest response among its operations; while no read has returned it and
        # its write has not responded (_OPEN, _LIMBO), the crash the write must precede.
        self.f = _NEVER
        self.f_by: Hashable = None
        self.s = invoked  # the latest invocation among its operations
        self.s_by: Hashable = write
        self.state = _OPEN
        self.old = False  # f precedes the oldest open read: in the old summary

    def ops(self) -> tuple[Hashable, ...]:
        out: list[Hashable] = []
        for o in (self.write, self.f_by, self.s_by):
            if o is not None and o not in out:
                out.append(o)
        return tuple(out)


# A row: the register's view of one event, (code, op, key, value). `rows` makes them from
# model events, one per event (NOTHING for those the register ignores), so that a row's
# position is its event's; a history file can be read straight into them.
READ, WRITE, OK, FAIL, DB, CRASH, NOTHING = range(7)
Row = tuple[int, Hashable, "str | None", "str | None"]


def rows(events: Iterable[Event]) -> Iterator[Row]:
    """The rows of `events`: (READ, op, key, None), (WRITE, op, key, value) (a delete: value
    None), (OK, op, None, result), (FAIL, op, None, None), (DB, None, key, value), (CRASH,
    None, None, None), or (NOTHING, None, None, None) for a flush, a fault, the clock."""
    for e in events:
        if isinstance(e, Ok):
            yield OK, e.op, None, e.result
        elif isinstance(e, Invoke):
            if e.kind == "read" and e.key is not None:
                yield READ, e.op, e.key, None
            elif e.kind in WRITES and e.key is not None:
                yield WRITE, e.op, e.key, e.value
            else:
                yield NOTHING, None, None, None
        elif isinstance(e, Fail):
            yield FAIL, e.op, None, None
        elif isinstance(e, DbObserved):
            yield DB, None, e.key, e.value
        elif isinstance(e, Crash):
            yield CRASH, None, None, None
        else:
            yield NOTHING, None, None, None


class _Key:
    """One key's clusters, open operations and summaries (see the module docstring)."""

    __slots__ = ("c1", "c2", "clusters", "name", "oldest", "reads", "recent", "retire", "sweep_at", "sweep_from")

    def __init__(self, name: str, initial: str | None, retire: bool, sweep_from: int):
        self.name = name
        self.retire = retire
        self.sweep_from = self.sweep_at = sweep_from
        init = _Cluster(self, initial, None, -2)
        init.f, init.state, init.old = -1, _LIVE, True
        self.clusters: dict[str | None, _Cluster] = {initial: init}
        # The old summary: the old cluster with the largest s, and the largest among the others.
        self.c1, self.c2 = init, _NOBODY
        self.recent: list[_Cluster] = []  # f >= the oldest open read's invocation, in f order
        self.reads: dict[Hashable, int] = {}  # open reads -> invocation, oldest first
        self.oldest = _NEVER  # the oldest open read's invocation

    def invoke_write(self, op: Hashable, value: str | None, t: int) -> _Cluster:
        """A write of `value` invoked at `t`: its cluster (`run` makes the common case inline)."""
        if value in self.clusters and self.retire:
            self.sweep()  # is the earlier write of it dead?
        if value in self.clusters:
            raise NotUnique(f"{value!r} written again on key {self.name!r} while an earlier write of it can still be read")
        c = self.clusters[value] = _Cluster(self, value, op, t)
        if self.retire and len(self.clusters) >= self.sweep_at:
            self.sweep()
        return c

    def respond(self, c: _Cluster, by: Hashable, t: int) -> None:
        """The first response among `c`'s operations, at `t` (or the crash it had to
        precede, for a write first read after it): `c` exists from now on. (`run` makes
        it inline for a write's response.)"""
        c.state = _LIVE
        if c.f > t:  # else: the crash it had to precede
            c.f, c.f_by = t, by
        if self.reads and c.f >= self.oldest:
            self.recent.append(c)
        else:
            c.old = True
            self.raise_old(c)

    def raise_old(self, c: _Cluster) -> None:
        """`c` is old and its s grew: keep the two largest."""
        if c is self.c1:
            return
        if c.s > self.c1.s:
            self.c1, self.c2 = c, self.c1
        elif c.s > self.c2.s:
            self.c2 = c

    def advance(self) -> None:
        """The oldest open read is gone: recent clusters older than the next one are old."""
        self.oldest = oldest = next(iter(self.reads.values())) if self.reads else _NEVER
        recent = self.recent
        i = 0
        while i < len(recent) and recent[i].f < oldest:
            c = recent[i]
            c.old = True
            self.raise_old(c)
            i += 1
        if i:
            del recent[:i]

    def crash(self, by: Hashable, t: int) -> None:
        self.reads.clear()
        self.advance()
        for c in self.clusters.values():
            if c.state <= _LIMBO:
                c.state = _LIMBO
                if c.f == _NEVER:
                    c.f, c.f_by = t, by

    def sweep(self) -> None:
        """Drop the clusters every future read of which would be a violation."""
        dead = []
        s1 = self.c1.s
        for v, c in self.clusters.items():
            if c.state == _LIVE:
                if c.old and (s1 if c is not self.c1 else self.c2.s) > c.f:
                    dead.append(v)
            elif c.state == _LIMBO and c.f != _NEVER and s1 > c.f:
                dead.append(v)
        for v in dead:
            self.clusters.pop(v).state = _DEAD
        self.sweep_at = max(self.sweep_from, 2 * len(self.clusters))

    def unreadable(self, by: Hashable, value: str | None, t: int) -> Conflict:
        kind: Literal["unwritten", "unreadable"] = "unreadable" if self.retire else "unwritten"
        return Conflict(self.name, kind, value, by, t, evidence=(by,), explanation=(
            f"read {value!r}: no write of it was invoked on {self.name!r} before the read completed"
            + (", or it was overwritten for good" if self.retire else "")))

    def conflict(self, c: _Cluster, d: _Cluster, by: Hashable, t: int) -> Conflict:
        evidence = tuple(dict.fromkeys(c.ops() + d.ops()))
        return Conflict(self.name, "order", c.value, by, t, d.value, evidence, (
            f"{d.value!r} must precede {c.value!r} (an operation of {d.value!r} responded before "
            f"one of {c.value!r} was invoked) and follow it (an operation of {c.value!r} responded "
            f"before one of {d.value!r} was invoked)"))


_NOBODY = _Cluster(None, None, None, -_NEVER)  # the second of a summary of one


class RegisterChecker:
    """Every key's register, fed a history's events (or rows) in order; keys are
    independent. Feed it one event at a time (`feed`), a whole history (`check`), or rows
    (`run`, the one implementation under both).

    Args:
        initial: each key's initial value (None otherwise).
        retire: drop clusters that can no longer be read, so that memory follows what can
            still be read; a read of one is then reported as "unreadable". False keeps them
            all, so that every Conflict names both clusters.
        sweep_from: how many clusters a key holds before it looks for dead ones (again each
            time the number doubles; the tests sweep at every write).
    """

    def __init__(self, initial: dict[str, str | None] | None = None, retire: bool = True, sweep_from: int = 256):
        self.initial = dict(initial or {})
        self.retire = retire
        self.sweep_from = sweep_from
        self.keys: dict[str, _Key] = {}
        self._ops: dict[Hashable, _Key | _Cluster] = {}  # open read -> its key; open write -> its cluster
        self.t = 0  # rows seen

    def _key(self, key: str) -> _Key:
        k = self.keys.get(key)
        if k is None:
            k = self.keys[key] = _Key(key, self.initial.get(key), self.retire, self.sweep_from)
        return k

    def values(self, key: str) -> list[str | None]:
        """The values of `key` whose clusters the checker holds (dropped ones excluded)."""
        k = self.keys.get(key)
        return [] if k is None else list(k.clusters)

    def signature(self) -> Hashable:
        """The checker's state, hashable, with its times replaced by their ranks: every
        future comparison is between these times or with later ones, so two checkers with
        equal signatures judge every continuation alike (the evidence fields excepted)."""
        times: set[int] = set()
        keys = list(self.keys.values())
        for k in keys:
            for c in k.clusters.values():
                times.update((c.f, c.s))
            times.update(k.reads.values())
            times.update((k.oldest, k.c1.s, k.c2.s))
        rank = {t: i for i, t in enumerate(sorted(times))}
        out = []
        for k in keys:
            out.append((
                k.name,
                frozenset((v, c.write, c.state, c.old, rank[c.f], rank[c.s]) for v, c in k.clusters.items()),
                tuple((op, rank[t]) for op, t in k.reads.items()),
                rank[k.oldest], k.c1.value, rank[k.c1.s], k.c2.value, rank[k.c2.s],
                tuple(c.value for c in k.recent), k.sweep_at,
            ))
        ops = frozenset((op, x.value if x.__class__ is _Cluster else None) for op, x in self._ops.items())
        return (tuple(out), ops)

    def feed(self, event: Event) -> Conflict | None:
        """Apply one event; the Conflict it completes, or None."""
        return self.run(rows((event,)))

    def check(self, events: Iterable[Event]) -> Conflict | None:
        """Feed every event; the first Conflict, or None: linearizable."""
        return self.run(rows(events))

    def run(self, rows: Iterable[Row]) -> Conflict | None:
        """Feed every row; the first Conflict, or None. Every event passes here: the
        common cases are inline."""
        keys, ops, t = self.keys, self._ops, self.t
        try:
            for code, op, key, value in rows:
                t += 1
                if code == OK:
                    k = ops.pop(op, None)
                    if k is None:
                        continue  # not an open operation of a key
                    if k.__class__ is _Cluster:
                        if k.state == _OPEN:
                            # A write's response, its cluster's first: `respond`, inline.
                            c, k = k, k.key  # type: ignore[assignment]
                            c.state, c.f, c.f_by = _LIVE, t, op  # type: ignore[union-attr]
                            if k.reads:  # type: ignore[union-attr]
                                k.recent.append(c)  # type: ignore[union-attr, arg-type]
                            else:
                                c.old = True  # type: ignore[union-attr]
                                k.raise_old(c)  # type: ignore[union-attr, arg-type]
                        continue
                    inv = k.reads.pop(op)  # type: ignore[union-attr]
                    by = op
                elif code == READ:
                    k = keys.get(key) or self._key(key)  # type: ignore[arg-type]
                    ops[op] = k
                    reads = k.reads
                    if not reads:
                        k.oldest = t
                    reads[op] = t
                    continue
                elif code == WRITE:
                    k = keys.get(key) or self._key(key)  # type: ignore[arg-type]
                    clusters = k.clusters
                    if value in clusters or len(clusters) >= k.sweep_at:
                        ops[op] = k.invoke_write(op, value, t)  # type: ignore[arg-type]
                    else:  # `invoke_write`'s common case, inline
                        ops[op] = clusters[value] = _Cluster(k, value, op, t)
                    continue
                elif code == FAIL:
                    k = ops.pop(op, None)
                    if k is None:
                        continue
                    if k.__class__ is _Cluster:
                        if k.state == _OPEN:
                            k.state = _LIMBO
                    elif k.reads.pop(op) == k.oldest:  # type: ignore[union-attr]
                        k.advance()  # type: ignore[union-attr]
                    continue
                elif code == DB:
                    k = keys.get(key) or self._key(key)  # type: ignore[arg-type]
                    inv, by = t, ("event", t)
                elif code == CRASH:
                    for k in keys.values():
                        k.crash(("event", t), t)
                    ops.clear()
                    continue
                else:
                    continue
                # A read of `value`, invoked at `inv`, completes at `t` (a DB observation:
                # invoked and completed at `t`).
                c = k.clusters.get(value)
                if c is None or c.state == _DEAD:
                    return k.unreadable(by, value, t)
                if c.state != _LIVE:
                    if inv > c.s:
                        c.s, c.s_by = inv, by
                    k.respond(c, by, t)
                elif inv > c.s:
                    c.s, c.s_by = inv, by
                    if c.old:
                        k.raise_old(c)
                # Is there a cluster d != c with f(d) < s(c) and s(d) > f(c)? Every old one
                # has f(d) < s(c); the recent ones are in f order.
                fc, sc = c.f, c.s
                d = k.c1 if k.c1 is not c else k.c2
                if d.s > fc:
                    return k.conflict(c, d, by, t)
                for d in k.recent:
                    if d.f >= sc:
                        break
                    if d.s > fc and d is not c:
                        return k.conflict(c, d, by, t)
                if inv == k.oldest:
                    k.advance()
        finally:
            self.t = t
        return None


def check_register(history: Iterable[Event], initial: dict[str, str | None] | None = None) -> Verdict:
    """CONFORMS or VIOLATES (never UNKNOWN) for the linearizable-reads clause of a register
    history with unique written values (raises NotUnique otherwise).

    The violation names the clause ("no-phantom" for a value never written on the key,
    else "linearizable-reads"), the event that completed it (for a sequence), and, in
    `observed`, the evidence. For a sequence, a read of a value the streaming pass had
    dropped is checked again on that key with every cluster kept, to name both sides."""
    conflict = RegisterChecker(initial).check(history)
    if conflict is None:
        return Verdict(CONFORMS)
    seq = isinstance(history, Sequence)
    if conflict.kind == "unreadable" and seq:
        exact = RegisterChecker(initial, retire=False).check(_one_key(history, conflict.key))  # type: ignore[arg-type]
        if exact is not None:
            conflict = exact
    clause = "no-phantom" if conflict.kind == "unwritten" else "linearizable-reads"
    return Verdict(VIOLATES, Violation(
        clause, conflict.key,
        "a linearizable register: " + ("a value written before the read completed" if clause == "no-phantom"
                                       else "an order of its operations"),
        f"{conflict.explanation}; evidence: {', '.join(map(_name, conflict.evidence))}",
        history[conflict.t - 1] if seq else None))  # type: ignore[index]


def _one_key(history: Sequence[Event], key: str) -> Iterator[Event | None]:
    """`history` with the events of other keys made None (positions kept)."""
    ops: set[int] = set()
    for e in history:
        if isinstance(e, Invoke):
            if e.key == key:
                ops.add(e.op)
                yield e
                continue
        elif isinstance(e, (Ok, Fail)):
            if e.op in ops:
                yield e
                continue
        elif isinstance(e, DbObserved):
            if e.key == key:
                yield e
                continue
        elif isinstance(e, Crash):
            yield e
            continue
        yield None


def _name(x: Hashable) -> str:
    return f"#{x}" if not isinstance(x, tuple) else f"event {x[1]}"


def evidence_events(history: Sequence[Event], conflict: Conflict) -> list[Event]:
    """The sub-history of `conflict`'s evidence: each of its operations' invocation and
    completion, its DB observations and crashes, in history order."""
    wanted = set(conflict.evidence)
    return [e for i, e in enumerate(history, 1)
            if ("event", i) in wanted or (isinstance(e, (Invoke, Ok, Fail)) and e.op in wanted)]
