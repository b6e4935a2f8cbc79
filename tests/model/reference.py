"""A small, obviously-correct linearizability checker for one key's register history: the
oracle the contract machinery (model.contract) and the fast register checker
(model.register) are both checked against.

It restates the register's semantics on purpose, independently of both: an oracle is only
worth something if it is not the code it checks. It is a Wing & Gong / Lowe search: the
state is the set of operations linearized so far and the register's value, memoized, and
each step linearizes an operation that no pending operation must precede. Exponential in
general, meant for at most about 12 operations per key.

Semantics (per key; written values need not be unique: the search tries every order):

- time is the position of an event in the history (equal timestamps are ordered as seen);
- a write completed with Ok takes effect once, between its invocation and its completion;
- a write that failed (Fail) or was still open at the end is indeterminate: it takes effect
  once at any moment after its invocation, or never;
- a crash ends every operation then open: an open write becomes indeterminate, a read
  never returns; and a dead process applies nothing later, so every indeterminate write
  invoked before a crash takes effect before that crash or never;
- a read completed with Ok returns the latest write that took effect before it (the
  initial value, None unless given, when there is none); a failed read constrains nothing;
- a DB observation (DbObserved) is a read that takes effect at the instant it is seen
  (write-through: the DB and what reads return move together);
- a delete is a write of None (the key absent), with all of a write's rules: a read after
  it returns None until the next write takes effect. None is then a value written many
  times, which this search handles as any value (its state is the register's value).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from model.events import Crash, DbObserved, Event, Fail, Invoke, Ok

__all__ = ["linearizable"]

_NEVER = float("inf")


def linearizable(events: Iterable[Event], key: str | None = None, initial: str | None = None) -> bool:
    """Whether the operations on `key` (every key's, when None: the caller gives one key's)
    have a linearization under the semantics above."""
    # (kind, value, invoked at, must take effect by, required)
    ops: dict[object, list] = {}
    crashes: list[int] = []
    for t, e in enumerate(events):
        if isinstance(e, Invoke):
            if e.kind in ("write", "read", "delete") and (key is None or e.key == key):
                # A delete is a write of None: its Invoke's value is None.
                kind = "read" if e.kind == "read" else "write"
                ops[e.op] = [kind, e.value, t, _NEVER, None]
        elif isinstance(e, Ok):
            o = ops.get(e.op)
            if o is not None and o[4] is None:
                o[3], o[4] = t, True
                if o[0] == "read":
                    o[1] = e.result
        elif isinstance(e, Fail):
            o = ops.get(e.op)
            if o is not None and o[4] is None:
                o[4] = False  # a failed write: indeterminate; a failed read: dropped below
        elif isinstance(e, DbObserved):
            if key is None or e.key == key:
                ops[("db", t)] = ["read", e.value, t, t, True]
        elif isinstance(e, Crash):
            crashes.append(t)
            for o in ops.values():
                if o[4] is None:
                    o[4] = False  # open at the crash: cut
    table = []
    for kind, value, inv, resp, done in ops.values():
        if kind == "read":
            if done:
                table.append(("read", value, inv, resp, True))
            continue
        if done:
            table.append(("write", value, inv, resp, True))
        else:
            # Indeterminate: by the first crash after its invocation, or never.
            deadline = min((c for c in crashes if c > inv), default=_NEVER)
            table.append(("write", value, inv, deadline, False))
    return _search(tuple(table), initial)


def _search(table: tuple, initial: str | None) -> bool:
    n = len(table)
    required = 0
    for i, (_, _, _, _, req) in enumerate(table):
        if req:
            required |= 1 << i

    @cache
    def go(done: int, value: str | None, last_inv: float) -> bool:
        if done & required == required:
            return True
        # The earliest completion among required operations not yet linearized: nothing
        # invoked after it may be linearized before it.
        horizon = min(table[i][3] for i in range(n) if required >> i & 1 and not done >> i & 1)
        for i in range(n):
            if done >> i & 1:
                continue
            kind, v, inv, resp, _ = table[i]
            if inv > horizon:
                continue
            # An operation linearized earlier was invoked after this one must complete.
            if last_inv > resp:
                continue
            if kind == "read":
                if v != value:
                    continue
                if go(done | 1 << i, value, max(last_inv, inv)):
                    return True
            elif go(done | 1 << i, v, max(last_inv, inv)):
                return True
        return False

    return go(0, initial, float("-inf"))
