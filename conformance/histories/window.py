"""The part of a long history a timeline can draw legibly: the violating key's window
around the violation.

A timeline gives every event a column, so a history of thousands of operations is a
drawing nobody can read (and a file of megabytes). `cut` keeps, of a history longer
than `limit` events with a violation on a key:

* the last `ops` operations on that key up to the violating event, and every operation
  on it (or flush) still open when the window starts (their invocations come along);
* in that window: the key's DB and cache observations, faults (store-wide, and evictions
  of that key), crashes, flushes and clock readings, at most `2 * ops` of these global
  events (the latest);
* nothing after the violating event, nothing of other keys;

and says what it left out. The events kept are the history's own objects, so the
violating event is still found by identity.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from model.events import CacheObserved, Crash, DbObserved, Fail, Fault, Invoke, Ok, Tick

__all__ = ["cut", "OPS", "LIMIT"]

#: Operations on the violating key kept before the violation.
OPS = 40
#: Histories up to this many events are drawn whole.
LIMIT = 400

Step = tuple[int, str, str, str, "str | None"]


def _index(history: Sequence[Any], event: Any) -> int | None:
    if event is None:
        return None
    for i in range(len(history) - 1, -1, -1):
        if history[i] is event:
            return i
    for i in range(len(history) - 1, -1, -1):
        if history[i] == event:
            return i
    return None


def cut(history: Sequence[Any], trace: Sequence[Step], violation: Any, *, ops: int = OPS,
        limit: int = LIMIT) -> tuple[tuple[Any, ...], tuple[Step, ...], str] | None:
    """(history, trace, note) of the window, or None when `history` is drawn whole (it is
    short, or there is no violation on a key to centre on). Trace positions are
    renumbered to the kept history."""
    if violation is None or len(history) <= limit or getattr(violation, "key", None) is None:
        return None
    key = violation.key
    found = _index(history, violation.event)
    bad = found if found is not None else len(history) - 1
    invoked: dict[int, int] = {}
    ended: dict[int, int] = {}
    ours: set[int] = set()  # the key's operations and flushes
    key_ops: list[int] = []  # invocation indexes of the key's operations up to `bad`
    others = 0
    for i in range(bad + 1):
        e = history[i]
        if isinstance(e, Invoke):
            invoked[e.op] = i
            if e.key == key or e.key is None:
                ours.add(e.op)
                if e.key == key:
                    key_ops.append(i)
            else:
                others += 1
        elif isinstance(e, (Ok, Fail)):
            ended[e.op] = i
    start = key_ops[-ops] if len(key_ops) >= ops else (key_ops[0] if key_ops else max(0, bad - limit))
    keep: list[int] = []
    for op in ours:
        i = invoked[op]
        if i < start and ended.get(op, bad + 1) >= start:
            keep.append(i)  # open when the window starts: drawn from the start
    glob: list[int] = []
    for i in range(start, bad + 1):
        e = history[i]
        if isinstance(e, (Invoke, Ok, Fail)):
            if e.op in ours:
                keep.append(i)
        elif isinstance(e, (DbObserved, CacheObserved)):
            if e.key == key:
                keep.append(i)
        elif isinstance(e, Fault):
            if e.key is None or e.key == key:
                glob.append(i)
        elif isinstance(e, (Crash, Tick)):
            glob.append(i)
    dropped_glob = max(0, len(glob) - 2 * ops)
    keep += glob[dropped_glob:]
    if found is not None and found not in keep:
        keep.append(found)
    keep.sort()
    before = sum(1 for i in key_ops if i < start and ended.get(history[i].op, bad + 1) < start)
    new_history = tuple(history[i] for i in keep)
    new_trace = tuple((bisect_left(keep, s[0]), *s[1:]) for s in trace  # type: ignore[misc]
                      if start <= s[0] <= bad + 1 and s[4] in (key, None))
    shown = len(key_ops) - before
    note = (f"a window of the history ({len(history):,} events): the last {shown} of the {len(key_ops):,} "
            f"operations on key {key!r} up to the violation, with the faults, crashes, flushes, clock and "
            f"DB observations among them; left out: {before:,} earlier operation{'s' if before != 1 else ''} "
            f"on {key!r}, {others:,} operation{'s' if others != 1 else ''} on other keys")
    if dropped_glob:
        note += f", {dropped_glob:,} earlier faults and clock readings"
    if len(history) > bad + 1:
        note += f", {len(history) - bad - 1:,} events after the violation"
    return new_history, new_trace, note + "; events are numbered within the window"
