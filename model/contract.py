"""The generic policy contract: one nondeterministic state machine, parametrized by a
`Policy`, that says which `KeyState`s explain each observed event.

Every policy uses these rules; a policy only switches a few of them (buffered writes,
bounded staleness). This is the one place where the semantics of a policy are written:
the conformance checker runs it online, and proofs/ and the tests use it as the oracle.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from attrs import frozen

from model.events import (
    CacheEntry,
    CacheObserved,
    Crash,
    DbObserved,
    Event,
    Fail,
    Fault,
    Invoke,
    Ok,
    Tick,
)
from model.policies import Policy
from model.state import KeyState, Stale
from model.vocabulary import READ, WRITES

__all__ = ["Contract", "Explanations", "subsume"]

# A set of explanations: each state with the relaxations its explanation needed. When two
# paths reach the same state, the one with fewer relaxations is kept (the best account).
Explanations = dict[KeyState, tuple[str, ...]]

_CACHE_FAULTS = frozenset({"cache-down", "cache-timeout"})


def subsume(states: Explanations) -> Explanations:
    """Drop explanations another one covers. Writes in limbo are options, not obligations
    (each may take effect later, or never), so a state whose limbo is a superset of an
    otherwise identical state's allows every future the smaller one allows. Keeping only
    the maximal ones turns 2^n subsets of n indeterminate writes back into one state per
    reachable value: sound, and what keeps failed writes from exploding the check."""
    if len(states) < 2 or not any(s.limbo for s in states):
        return states
    groups: dict[KeyState, list[tuple[KeyState, tuple[str, ...]]]] = {}
    for s, n in states.items():
        groups.setdefault(s.but(limbo=frozenset()) if s.limbo else s, []).append((s, n))
    if len(groups) == len(states):
        return states
    out: Explanations = {}
    for members in groups.values():
        if len(members) == 1:
            out[members[0][0]] = members[0][1]
            continue
        members.sort(key=lambda m: -len(m[0].limbo))
        kept: list[tuple[KeyState, tuple[str, ...]]] = []
        for s, n in members:
            if not any(s.limbo <= k.limbo for k, _ in kept):
                kept.append((s, n))
        for s, n in kept:
            out[s] = n
    return out


def _keep_best(out: Explanations, state: KeyState, notes: tuple[str, ...]) -> None:
    old = out.setdefault(state, notes)  # one lookup when `state` is new, the common case
    if len(notes) < len(old):
        out[state] = notes


@frozen
class Contract:
    """A policy's contract for one key.

    Args:
        policy: the write policy.
        staleness_bound: seconds a read may lag the DB under bounded staleness (the fill TTL).
        durable: the subject declared `durable = True` (its pending writes survive a crash).
    """

    policy: Policy
    staleness_bound: float = 300.0
    durable: bool = False

    # ---- states -------------------------------------------------------------------------

    def initial(self, value: str | None = None) -> Explanations:
        return {KeyState(value=value, db=value): ()}

    def readable(self, s: KeyState, now: float) -> Iterator[tuple[str | None, str | None]]:
        """The values a read may return in `s` at `now`, each with the relaxation it needs."""
        yield s.value, None
        if self.policy.bounded_staleness:
            for v, at in s.superseded:
                if v != s.value and at >= now - self.staleness_bound:
                    yield v, (
                        f"read {v!r} {now - at:g} s after it was overwritten: allowed, "
                        f"staleness bound {self.staleness_bound:g} s"
                    )
        for st in s.stale:
            if st.value != s.value and now < st.until:
                yield st.value, f"read stale {st.value!r}: {st.reason}, allowed until t={st.until:g}"

    def moves(self, s: KeyState, now: float, persist: bool = True) -> Iterator[tuple[KeyState, str | None]]:
        """Internal transitions: the steps that may happen between two observations.

        `persist=False` leaves out the background flush of pending writes (see `closure`)."""
        for w in s.open_writes:
            yield self._linearize_write(
                s, w[1], now, open_writes=s.open_writes - {w}, done_writes=s.done_writes | {w[0]}
            ), None
        for op in s.open_reads:
            for v, note in self.readable(s, now):
                yield s.but(open_reads=s.open_reads - {op}, read_results=s.read_results | {(op, v)}), note
            for w in s.limbo:
                # A write in limbo takes effect immediately before the read that first
                # returns its value (see `_reveal`).
                yield self._linearize_write(
                    s, w[1], now, limbo=s.limbo - {w}, open_reads=s.open_reads - {op},
                    read_results=s.read_results | {(op, w[1])}), None
        if persist and self.policy.buffered and s.pending:
            # A background flush may persist any pending write; it takes the earlier ones
            # with it (coalescing), so the DB only ever moves forward in linearization order.
            # One move persists the oldest: the closure reaches "up to the i-th" through i
            # such moves, the same states in O(n) copies instead of O(n^2).
            yield s.but(db=s.pending[0], pending=s.pending[1:]), None
        for op in s.open_flushes:
            # A flush linearizes only at a moment when nothing acknowledged is unpersisted:
            # every pending write is persisted first, in order.
            yield s.but(db=s.pending[-1] if s.pending else s.db, pending=(),
                        open_flushes=s.open_flushes - {op}, done_flushes=s.done_flushes | {op}), None

    def _linearize_write(self, s: KeyState, v: str, now: float, **changes: object) -> KeyState:
        """`s` after write `v` takes effect, with `changes` (the write's own bookkeeping)
        made in the same copy."""
        superseded = s.superseded
        if self.policy.bounded_staleness and s.value != v:
            superseded = superseded + ((s.value, now),)
        if self.policy.buffered:
            return s.but(value=v, pending=s.pending + (v,), superseded=superseded, **changes)
        return s.but(value=v, db=v, superseded=superseded, **changes)

    def closure(self, states: Explanations, now: float, limit: int, persist: bool = True) -> Explanations | None:
        """All states reachable by internal moves; None when more than `limit` exist.

        `persist=False`: without the background flush's moves. Persisting a pending write
        commutes with every other move and observation except those that look at the DB
        or at what is pending (a DB observation, a crash, a flush), so `observe` leaves
        those moves implicit and makes them where they are looked at (`_db_holds`,
        `_crash`, the flush move): one state per step instead of one per pending write.

        Breadth first, so that states with more writes still in limbo come first, and a
        state whose limbo is covered by an otherwise identical state found earlier is not
        explored at all (see `subsume`): n indeterminate writes cost O(n) states, not 2^n."""
        out: Explanations = dict(states)
        buffered = self.policy.buffered
        # A read takes a write out of limbo (see `moves`); with none in limbo there is
        # nothing to subsume.
        prune = buffered or any(s.limbo for s in states)
        # base state (limbo emptied) -> the limbo sets kept for it
        covers: dict[KeyState, list[frozenset[tuple[int, str]]]] = {}
        if prune:
            for s in states:
                if s.limbo:
                    covers.setdefault(s.but(limbo=frozenset()), []).append(s.limbo)
        frontier = deque(states.items())
        while frontier:
            s, notes = frontier.popleft()
            if out.get(s, notes) is not notes:
                continue  # a better account of `s` was found since: it is queued again
            if not (s.open_writes or s.open_reads or s.open_flushes or (persist and buffered and s.pending)):
                continue  # no internal move (see `moves`): the common case, made cheap
            for t, note in self.moves(s, now, persist):
                tn = notes + (note,) if note else notes
                old = out.get(t)
                if old is not None:
                    if len(tn) < len(old):
                        # Fewer relaxations explain `t`: its successors, reached earlier
                        # with the worse account, must get this one too.
                        out[t] = tn
                        frontier.append((t, tn))
                    continue
                if prune and t.limbo:
                    kept = covers.setdefault(t.but(limbo=frozenset()), [])
                    if any(t.limbo <= k for k in kept):
                        continue
                    kept.append(t.limbo)
                out[t] = tn
                frontier.append((t, tn))
                if len(out) > limit:
                    out = subsume(out)
                    if len(out) > limit:
                        return None
        return subsume(out) if prune else out

    # ---- observations ------------------------------------------------------------------

    def observe(self, states: Explanations, event: Event, now: float, limit: int, *,
                closed: bool = False) -> Explanations | None:
        """The states that explain `states` followed by `event` (empty: a violation;
        None: more than `limit` explanations, the check is inconclusive).

        `closed`: the caller knows `states` is already closed under internal moves at
        `now` (it is what `observe` returned for an Ok at `now`: see `keeps_closed`), so
        the closure can be skipped unless an observation reveals a write in limbo."""
        # The commonest events first: this runs for every event of a check.
        if isinstance(event, DbObserved):
            seen: str | None = event.value
        elif isinstance(event, Ok):
            seen = event.result
        elif isinstance(event, Invoke):
            return {self._invoke(s, event): n for s, n in states.items()}
        elif isinstance(event, Fault):
            return self._fault(states, event)
        elif isinstance(event, Tick):
            out: Explanations = {}
            for s, n in states.items():
                _keep_best(out, self._prune(s, now), n)
            return out
        elif isinstance(event, Fail):
            return self._fail(states, event.op)
        elif isinstance(event, Crash):
            if not closed:
                states = self.closure(states, now, limit, persist=False)  # type: ignore[assignment]
                if states is None:
                    return None
            return self._crash(states, event)
        elif isinstance(event, CacheObserved):
            # Judged on what the harness saw, not on the explanations: the DB's value it
            # carries is an observation (the DB observations before it narrowed them).
            return states if self.converged(event) else {}
        else:
            raise TypeError(f"not an event: {event!r}")
        if not closed:
            # Closed before a write in limbo is revealed: every operation open now may
            # linearize before it (see `_reveal`).
            states = self.closure(states, now, limit, persist=False)  # type: ignore[assignment]
            if states is None:
                return None
        if isinstance(event, Ok):
            return self._complete(states, event)
        revealed = self._reveal(states, seen, now)
        if revealed is not states:
            states = self.closure(subsume(revealed), now, limit, persist=False)  # type: ignore[assignment]
            if states is None:
                return None
        return self._db_holds(states, seen)

    @staticmethod
    def converged(event: CacheObserved) -> bool:
        """The convergence clause: once faults healed, the system quiesced, pending work
        was flushed and TTLs ran out, a cached entry equals the DB's value. The same for
        every policy: what a policy relaxes has ended by then."""
        return event.value == event.db_value

    @staticmethod
    def keeps_closed(event: Event) -> bool:
        """Whether what `observe` returns for `event` is itself closed under internal moves
        at the event's time. True for Ok: it completes an operation in every state of a
        closed set, and completing one (dropping it from done_writes, read_results or
        done_flushes) neither enables nor disables any move. Not for DbObserved: keeping
        the states with one DB value drops successors whose DB moved on (a flush
        persists everything pending)."""
        return isinstance(event, Ok)

    def _reveal(self, states: Explanations, value: str | None, now: float) -> Explanations:
        """The states in which the DB observation of `value` at `now` first shows a write
        in limbo, from `states` closed under moves at `now`.

        An indeterminate write is made to take effect only where something first observes
        its value: immediately before the first read that returns it (a move of that read,
        see `moves`), or, when the DB shows it first, here. That is exact: in any
        linearization the write's effect can be moved later, up to that first observation,
        because nothing in between touches its value (a write in between would hide it
        from the observer; a read in between would be the first observer), and a write
        nothing observes can be left out. Taking effect at the *completion* of the read
        that returns it, as this method once did for reads, is not the same: the
        operations open during that read may have to linearize before the write (a read of
        the previous value still open; a write that completed during the read), and they
        could not (tests/model/test_register_regressions.py).

        Here: `states` is closed first (every operation open now may linearize before the
        write) and `observe` closes the result again. Unbuffered, the write is the latest
        (the DB holds the latest value); buffered, it sits at any position among the
        writes still pending, which is everywhere an earlier, unobserved effect could have
        put it (anything before them is persisted or coalesced away).

        Writes in limbo remain options until revealed, so `subsume` stays sound: a state
        with more of them has every move of one with fewer (each reveal leads to a state
        with a superset again), hence every future. n writes in limbo cost O(n) states
        per open read, not every order of them."""
        out: Explanations = states  # copied on the first write revealed: unchanged is common
        for s, n in states.items():
            for w in s.limbo:
                if w[1] != value:
                    continue
                if out is states:
                    out = dict(states)
                rest = s.limbo - {w}
                if not self.policy.buffered:
                    _keep_best(out, self._linearize_write(s, value, now, limbo=rest), n)
                    continue
                # Buffered: had it taken effect earlier, unobserved, it would sit somewhere
                # among the writes still pending (anything before them is persisted or
                # coalesced away), or last.
                for i in range(len(s.pending) + 1):
                    pending = s.pending[:i] + (value,) + s.pending[i:]
                    latest = value if i == len(s.pending) else s.value
                    _keep_best(out, s.but(value=latest, pending=pending, limbo=rest), n)
        return out

    def _db_holds(self, states: Explanations, value: str | None) -> Explanations:
        """The states in which the DB holds `value`, the background flush's moves included:
        a pending write is the DB's value once it and every write before it is persisted."""
        out: Explanations = {}
        for s, n in states.items():
            if s.db == value:
                _keep_best(out, s, n)
            if self.policy.buffered:
                for i, v in enumerate(s.pending):
                    if v == value:
                        _keep_best(out, s.but(db=v, pending=s.pending[i + 1:]), n)
        return out

    def _invoke(self, s: KeyState, e: Invoke) -> KeyState:
        if e.kind in WRITES:
            # A delete is a write of None (model.vocabulary.WRITES): every rule of a write
            # applies to it, in every policy. The DB holding None is the row removed; the
            # value None is what reads return once the cache entry is removed or
            # invalidated, however the policy does it (the contract does not say how, only
            # what reads and the DB show). Deletes repeat None, which the explanations (sets
            # of states) handle exactly, like any repeated value.
            assert e.value is not None or e.kind != "write"
            return s.but(open_writes=s.open_writes | {(e.op, e.value)})
        if e.kind == READ:
            return s.but(open_reads=s.open_reads | {e.op})
        return s.but(open_flushes=s.open_flushes | {e.op})

    def _complete(self, states: Explanations, e: Ok) -> Explanations:
        out: Explanations = {}
        for s, n in states.items():
            if e.op in s.done_writes:
                _keep_best(out, s.but(done_writes=s.done_writes - {e.op}), n)
            elif (e.op, e.result) in s.read_results:
                _keep_best(out, s.but(read_results=s.read_results - {(e.op, e.result)}), n)
            elif e.op in s.done_flushes:
                _keep_best(out, s.but(done_flushes=s.done_flushes - {e.op}), n)
        return out

    def _fail(self, states: Explanations, op: int) -> Explanations:
        out: Explanations = {}
        for s, n in states.items():
            failed = {w for w in s.open_writes if w[0] == op}
            t = s.but(
                open_writes=s.open_writes - failed,
                limbo=s.limbo | failed,
                done_writes=s.done_writes - {op},
                open_reads=s.open_reads - {op},
                read_results=frozenset(r for r in s.read_results if r[0] != op),
                open_flushes=s.open_flushes - {op},
                done_flushes=s.done_flushes - {op},
            )
            _keep_best(out, t, n)
        return out

    def _fault(self, states: Explanations, e: Fault) -> Explanations:
        out: Explanations = {}
        for s, n in states.items():
            if e.kind in _CACHE_FAULTS:
                s = s.but(stale=s.stale | self._left_behind(e.cache, f"left by {e.kind} at t={e.time:g}"))
            elif e.kind == "cache-restart" or e.kind == "evict":
                # The entry is gone: nothing stale can be served from it any more.
                s = s.but(stale=frozenset())
            _keep_best(out, s, n)
        return out

    def _crash(self, states: Explanations, e: Crash) -> Explanations:
        out: Explanations = {}
        survive = self.policy.buffered and (self.durable or e.durable)
        if not survive and any(s.limbo for s in states):
            # Writes in limbo are revealed lazily; a dead process's writes must be settled
            # now: each took effect before the crash (in some order), or never.
            states = self._settle_limbo(states, e.time)
        if self.policy.buffered and not survive:
            # What is pending dies with the process; what a background flush persisted
            # before (any prefix of it, left implicit by `observe`) stays.
            states = self.closure(states, e.time, 10**6) or states
        for s, n in states.items():
            if s.limbo and not survive:
                # A dead process applies nothing later: an indeterminate write has taken
                # effect by now (the closure holds that explanation) or never will. Only a
                # durable queue can still carry it past the crash.
                s = s.but(limbo=frozenset())
            left = self._left_behind(e.cache, f"cached before the crash at t={e.time:g}")
            if self.policy.buffered and s.pending and not (self.durable or e.durable):
                lost = len(s.pending)
                note = (
                    f"lost {lost} write{'s' if lost > 1 else ''} acknowledged after the last "
                    f"flush ({', '.join(map(repr, s.pending))}), allowed: volatile"
                )
                s = s.but(value=s.db, pending=(), stale=s.stale | left)
                n = n + (note,)
            else:
                s = s.but(stale=s.stale | left)
            _keep_best(out, s, n)
        return out

    def _settle_limbo(self, states: Explanations, now: float) -> Explanations:
        out: Explanations = dict(states)
        frontier = list(states.items())
        while frontier:
            s, n = frontier.pop()
            for w in s.limbo:
                t = self._linearize_write(s, w[1], now, limbo=s.limbo - {w})
                if t not in out:
                    out[t] = n
                    frontier.append((t, n))
        return subsume(out)

    @staticmethod
    def _left_behind(entries: Iterable[CacheEntry], reason: str) -> frozenset[Stale]:
        # An entry without a TTL gets no relaxation: nothing would ever end its staleness.
        return frozenset(
            Stale(c.value, c.expires_at, reason) for c in entries if c.expires_at is not None
        )

    def _prune(self, s: KeyState, now: float) -> KeyState:
        stale = frozenset(st for st in s.stale if st.until > now)
        sup = tuple((v, at) for v, at in s.superseded if at >= now - self.staleness_bound)
        if stale == s.stale and sup == s.superseded:
            return s
        return s.but(stale=stale, superseded=sup)
