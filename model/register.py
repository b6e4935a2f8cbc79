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
it a distinct cluster, like each delete a distinct tombstone): exact, because no read
can be explained by the dead one. Two live clusters of one value are outside this
algorithm (`NotUnique`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Literal

from attrs import frozen

from model.events import Crash, DbObserved, Event, Fail, Invoke, Ok
from model.verdict import CONFORMS, VIOLATES, Verdict, Violation

__all__ = ["Conflict", "NotUnique", "RegisterChecker", "RegisterKey", "check_register", "evidence_events"]

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
        at: the read (its op id) or DB observation (the event) that completed the violation.
        other: the value of the other cluster, for "order".
        evidence: the operations (op ids; DB observations and crashes as events) whose
            intervals make up the violation: the two clusters' writes, the operations
            fixing each one's earliest response and latest invocation. Checked alone, they
            violate too: a small sub-history to shrink from.
        explanation: one sentence.
    """

    key: str
    kind: Literal["unwritten", "unreadable", "order"]
    value: str | None
    at: Hashable
    other: str | None = None
    evidence: tuple[Hashable, ...] = ()
    explanation: str = ""


class _Cluster:
    """A value's write and the reads that returned it; see the module docstring."""

    __slots__ = ("deadline", "deadline_by", "f", "f_by", "old", "s", "s_by", "state", "value", "write")

    def __init__(self, value: str | None, write: Hashable, invoked: int):
        self.value = value
        self.write = write
        self.f = _NEVER  # earliest response among its operations
        self.f_by: Hashable = None
        self.s = invoked  # latest invocation among its operations
        self.s_by: Hashable = write
        self.state = _OPEN
        self.old = False  # f precedes the oldest open read: in the old summary
        self.deadline = _NEVER  # the crash an indeterminate write must precede
        self.deadline_by: Hashable = None

    def ops(self) -> tuple[Hashable, ...]:
        out: list[Hashable] = []
        for o in (self.write, self.f_by, self.s_by):
            if o is not None and o not in out:
                out.append(o)
        return tuple(out)


class RegisterKey:
    """One key's register, fed its events in time order (`t` strictly increasing across
    calls). Each method returns None, or the Conflict that makes the history so far
    non-linearizable (then the key is done: later calls are not meaningful).

    Args:
        key: the key's name (for the Conflict).
        initial: the value reads return before any write takes effect.
        retire: drop clusters that can no longer be read (memory bounded by what can
            still be read); a read of one is then reported as "unreadable". False keeps
            them all, so that every Conflict names both clusters.
        sweep_from: how many clusters the key holds before it looks for dead ones (it
            looks again each time the number doubles; the tests sweep at every write).
    """

    def __init__(self, key: str, initial: str | None = None, retire: bool = True, sweep_from: int = 64):
        self.key = key
        self.retire = retire
        self.sweep_from = sweep_from
        init = _Cluster(initial, None, -2)
        init.f, init.f_by, init.state, init.old = -1, None, _LIVE, True
        self.clusters: dict[str | None, _Cluster] = {initial: init}
        # Old summary: the largest s among old clusters (and whose), and the largest
        # among the others.
        self.s1, self.c1 = init.s, init
        self.s2, self.c2 = -_NEVER, None
        self.recent: list[_Cluster] = []  # f >= oldest open read's invocation, in f order
        self.reads: dict[Hashable, int] = {}  # open reads -> invocation, oldest first
        self.oldest = _NEVER  # invocation of the oldest open read
        self.writes: dict[Hashable, _Cluster] = {}  # open writes
        self.undecided: set[_Cluster] = set()  # writes with no response, not yet read
        self._sweep_at = sweep_from

    # ---- events ----------------------------------------------------------------------

    def invoke_write(self, op: Hashable, value: str, t: int) -> None:
        old = self.clusters.get(value)
        if old is not None and old.state != _DEAD:
            raise NotUnique(f"{value!r} written again on key {self.key!r} while an earlier write of it can still be read")
        c = _Cluster(value, op, t)
        self.clusters[value] = c
        self.writes[op] = c
        self.undecided.add(c)
        if self.retire and len(self.clusters) >= self._sweep_at:
            self._sweep()

    def invoke_read(self, op: Hashable, t: int) -> None:
        if not self.reads:
            self.oldest = t
        self.reads[op] = t

    def ok_write(self, op: Hashable, t: int) -> None:
        c = self.writes.pop(op, None)
        if c is not None and c.state == _OPEN:
            # Its response: the cluster's earliest (no read returned it yet).
            self.undecided.discard(c)
            c.f, c.f_by, c.state = t, op, _LIVE
            self._place(c)

    def fail_write(self, op: Hashable, t: int) -> None:
        c = self.writes.pop(op, None)
        if c is not None and c.state == _OPEN:
            c.state = _LIMBO

    def ok_read(self, op: Hashable, value: str | None, t: int) -> Conflict | None:
        invoked = self.reads.pop(op, None)
        if invoked is None:
            return None  # not a read of this key that is open
        conflict = self._read(op, invoked, value, t)
        if invoked == self.oldest:
            self._advance()
        return conflict

    def fail_read(self, op: Hashable) -> None:
        invoked = self.reads.pop(op, None)
        if invoked is not None and invoked == self.oldest:
            self._advance()

    def observe(self, by: Hashable, value: str | None, t: int) -> Conflict | None:
        """The DB holds `value` at `t`: a read at that instant (`by` names it)."""
        return self._read(by, t, value, t)

    def crash(self, by: Hashable, t: int) -> None:
        self.reads.clear()
        self._advance()
        self.writes.clear()
        for c in self.undecided:
            c.state = _LIMBO
            if c.deadline == _NEVER:
                c.deadline, c.deadline_by = t, by
        self.undecided.clear()

    # ---- the sweep -------------------------------------------------------------------

    def _read(self, op: Hashable, invoked: int, value: str | None, t: int) -> Conflict | None:
        c = self.clusters.get(value)
        if c is None or c.state == _DEAD:
            kind: Literal["unwritten", "unreadable"] = "unreadable" if self.retire else "unwritten"
            return Conflict(self.key, kind, value, op, evidence=(op,), explanation=(
                f"read {value!r}: no write of it was invoked on {self.key!r} before the read completed"
                + (", or it was overwritten for good" if self.retire else "")))
        if c.state != _LIVE:
            # The first read of a write not yet responded: its response is this read's
            # (or the crash it had to precede), and from now on it must have taken effect.
            self.undecided.discard(c)
            c.state = _LIVE
            if c.deadline < t:
                c.f, c.f_by = c.deadline, c.deadline_by
            else:
                c.f, c.f_by = t, op
            if invoked > c.s:
                c.s, c.s_by = invoked, op
            self._place(c)
        elif invoked > c.s:
            c.s, c.s_by = invoked, op
            if c.old:
                self._raise_old(c)
        return self._query(c, op, value)

    def _query(self, c: _Cluster, op: Hashable, value: str | None) -> Conflict | None:
        """Is there D != c with f(D) < s(c) and s(D) > f(c)?"""
        fc, sc = c.f, c.s
        d = self.c1 if self.c1 is not c else self.c2
        if d is not None and d.s > fc:
            return self._conflict(c, d, op)
        for d in self.recent:
            if d.f >= sc:
                break
            if d.s > fc and d is not c:
                return self._conflict(c, d, op)
        return None

    def _conflict(self, c: _Cluster, d: _Cluster, op: Hashable) -> Conflict:
        evidence = tuple(dict.fromkeys(c.ops() + d.ops()))
        return Conflict(self.key, "order", c.value, op, d.value, evidence, (
            f"{d.value!r} must precede {c.value!r} (an operation of {d.value!r} responded before "
            f"one of {c.value!r} was invoked) and follow it (an operation of {c.value!r} responded "
            f"before one of {d.value!r} was invoked)"))

    def _place(self, c: _Cluster) -> None:
        """`c` has just got its f: among the recent clusters if a read is open, else old."""
        if self.reads and c.f >= self.oldest:
            self.recent.append(c)
        else:
            c.old = True
            self._raise_old(c)

    def _raise_old(self, c: _Cluster) -> None:
        s = c.s
        if c is self.c1:
            self.s1 = s
        elif s > self.s1:
            self.s2, self.c2 = self.s1, self.c1
            self.s1, self.c1 = s, c
        elif s > self.s2:
            self.s2, self.c2 = s, c

    def _advance(self) -> None:
        """The oldest open read is gone: recent clusters older than the next one are old."""
        self.oldest = next(iter(self.reads.values())) if self.reads else _NEVER
        recent = self.recent
        if recent and recent[0].f < self.oldest:
            i = 0
            while i < len(recent) and recent[i].f < self.oldest:
                c = recent[i]
                c.old = True
                self._raise_old(c)
                i += 1
            del recent[:i]

    def _sweep(self) -> None:
        """Drop the clusters every future read of which would be a violation."""
        dead = []
        for v, c in self.clusters.items():
            if c.state == _LIVE and c.old:
                best = self.s1 if c is not self.c1 else self.s2
                if best > c.f:
                    dead.append(v)
            elif c.state == _LIMBO and c.deadline != _NEVER and self.s1 > c.deadline:
                dead.append(v)
        for v in dead:
            self.clusters.pop(v).state = _DEAD
        self._sweep_at = max(self.sweep_from, 2 * len(self.clusters))


class RegisterChecker:
    """Every key's register, fed a history's events in order; keys are independent.

    Args:
        initial: each key's initial value (None otherwise).
        retire, sweep_from: see RegisterKey.
    """

    def __init__(self, initial: dict[str, str | None] | None = None, retire: bool = True, sweep_from: int = 64):
        self.initial = dict(initial or {})
        self.retire = retire
        self.sweep_from = sweep_from
        self.keys: dict[str, RegisterKey] = {}
        self._ops: dict[int, RegisterKey] = {}  # open operation -> its key
        self.t = 0

    def key(self, key: str) -> RegisterKey:
        k = self.keys.get(key)
        if k is None:
            k = self.keys[key] = RegisterKey(key, self.initial.get(key), self.retire, self.sweep_from)
        return k

    def feed(self, e: Event) -> Conflict | None:
        """Apply one event (other kinds than operations, DB observations and crashes are
        not the register's business and are skipped)."""
        self.t += 1
        t = self.t
        if isinstance(e, Ok):
            k = self._ops.pop(e.op, None)
            if k is None:
                return None
            if e.op in k.reads:
                return k.ok_read(e.op, e.result, t)
            k.ok_write(e.op, t)
        elif isinstance(e, Invoke):
            if e.key is None or e.kind == "flush":
                return None
            k = self.key(e.key)
            self._ops[e.op] = k
            if e.kind == "read":
                k.invoke_read(e.op, t)
            else:
                assert e.value is not None
                k.invoke_write(e.op, e.value, t)
        elif isinstance(e, Fail):
            k = self._ops.pop(e.op, None)
            if k is not None:
                if e.op in k.reads:
                    k.fail_read(e.op)
                else:
                    k.fail_write(e.op, t)
        elif isinstance(e, DbObserved):
            return self.key(e.key).observe(e, e.value, t)
        elif isinstance(e, Crash):
            for k in self.keys.values():
                k.crash(e, t)
            self._ops.clear()
        return None

    def check(self, events: Iterable[Event]) -> tuple[Conflict, Event] | None:
        """Feed every event; the first Conflict and the event that completed it, or None:
        linearizable."""
        feed = self.feed
        for e in events:
            c = feed(e)
            if c is not None:
                return c, e
        return None


def check_register(history: Iterable[Event], initial: dict[str, str | None] | None = None) -> Verdict:
    """CONFORMS or VIOLATES (never UNKNOWN) for the linearizable-reads clause of a register
    history with unique written values (raises NotUnique otherwise).

    The violation names the clause ("no-phantom" for a value never written on the key,
    else "linearizable-reads"), the event that completed it, and, in `observed`, the
    evidence. When the history is a sequence, a read of a value the streaming pass had
    dropped is checked again on that key with every cluster kept, to name both sides."""
    found = RegisterChecker(initial).check(history)
    if found is None:
        return Verdict(CONFORMS)
    conflict, event = found
    if conflict.kind == "unreadable" and isinstance(history, Sequence):
        exact = RegisterChecker(initial, retire=False).check(_one_key(history, conflict.key))
        if exact is not None:
            conflict = exact[0]
    clause = "no-phantom" if conflict.kind == "unwritten" else "linearizable-reads"
    return Verdict(VIOLATES, Violation(
        clause, conflict.key,
        "a linearizable register: " + ("a value written before the read completed" if clause == "no-phantom"
                                       else "an order of its operations"),
        f"{conflict.explanation}; evidence: {', '.join(map(_name, conflict.evidence))}",
        event))


def _one_key(history: Sequence[Event], key: str) -> Iterator[Event]:
    ops: set[int] = set()
    for e in history:
        if isinstance(e, Invoke):
            if e.key == key:
                ops.add(e.op)
                yield e
        elif isinstance(e, (Ok, Fail)):
            if e.op in ops:
                yield e
        elif isinstance(e, DbObserved):
            if e.key == key:
                yield e
        elif isinstance(e, Crash):
            yield e


def _name(x: Hashable) -> str:
    return f"#{x}" if isinstance(x, int) else repr(x)


def evidence_events(history: Iterable[Event], conflict: Conflict) -> list[Event]:
    """The sub-history of `conflict`'s evidence: each of its operations' invocation and
    completion, its DB observations and crashes, in history order."""
    wanted = set(conflict.evidence)
    return [e for e in history
            if (isinstance(e, (Invoke, Ok, Fail)) and e.op in wanted) or (not isinstance(e, (Invoke, Ok, Fail)) and e in wanted)]
