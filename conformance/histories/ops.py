"""Operations of a recorded history, from their lines to `model.events`.

The formats that write an operation as an invocation line and a completion line (this
project's JSON Lines, Jepsen's EDN) share this: each reader turns its lines into `OpLine`s
and the `Assembler` pairs completions with invocations, numbers the operations, and says
what each completion means to the contract:

=============  =================================  ==========================================
completion     write (cas: its write half)        read
=============  =================================  ==========================================
ok             `Ok`: took effect                  `Ok` with the value read
fail           not applied: the operation is      `Fail`: no value (a read that did not
               left out of the history            happen constrains nothing)
info           `Fail`: indeterminate, may have    `Fail`: no value
               taken effect or not
(none)         still open at the end: may have    still open: constrains nothing
               taken effect or not
=============  =================================  ==========================================

A definite failure (`fail`) of a write means the write never took effect, so it must not
appear in the history at all, and its invocation comes before the line that says so. The
file is therefore read twice: `scan` finds the invocations whose operation definitely
failed (one bit per invocation), and the second reading leaves them out.

A completion names its invocation by an optional `id`, else it completes the open
invocation of the same process (Jepsen's convention: a process has one operation open at
a time). Memory grows with the operations open at once, not with the file.

`cas` (Jepsen's compare-and-set, `[from to]`) is not an operation of the contract. An
applied or indeterminate cas is split into a read that returns `from` and a write of `to`
over the same interval: every linearization of the atomic cas is one of the split pair, so
a split history that VIOLATES proves the original does; one that CONFORMS does not prove
it (the read and the write might need to be apart), and the check says UNKNOWN.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from model.events import Event, Fail, Invoke, Ok

from conformance.histories.errors import HistoryError

__all__ = ["OpLine", "Assembler", "Bits", "text", "CAS", "COMPLETIONS", "OP_TYPES"]

#: Jepsen's compare-and-set, only in EDN histories: `value` is (from, to).
CAS = "cas"
COMPLETIONS = ("ok", "fail", "info")
OP_TYPES = ("invoke",) + COMPLETIONS


def text(value: Any) -> str | None:
    """A key or value as the contract compares them: strings as they are, numbers and
    booleans as their JSON text (1 -> "1", true -> "true"), null as None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return json.dumps(value)
    raise TypeError(type(value).__name__)


class Bits:
    """A growable set of small non-negative integers, one bit each."""

    def __init__(self) -> None:
        self._b = bytearray()
        self.count = 0

    def add(self, i: int) -> None:
        byte = i >> 3
        if byte >= len(self._b):
            self._b.extend(bytes(byte + 1 - len(self._b) + len(self._b) // 2))
        if not self._b[byte] >> (i & 7) & 1:
            self.count += 1
            self._b[byte] |= 1 << (i & 7)

    def __contains__(self, i: int) -> bool:
        byte = i >> 3
        return byte < len(self._b) and bool(self._b[byte] >> (i & 7) & 1)


class OpLine:
    """One invocation or completion as a reader found it.

    Attributes:
        line: its line number.
        type: invoke, ok, fail or info.
        process: who invoked it (a completion without `id` completes this process's open
            invocation).
        id: an explicit operation id, or None.
        f: write, read, flush or cas; None on a completion that leaves it to its invocation.
        key: the key (None for flush, or on a completion).
        value: the value written; on a read's ok, the value read; for cas, (from, to).
        time: seconds.
        error: the error of a fail or info, if the line gives one.
    """

    __slots__ = ("line", "type", "process", "id", "f", "key", "value", "time", "error")

    def __init__(self, line: int, type: str, process: str | None, id: str | None, f: str | None,
                 key: str | None, value: Any, time: float, error: str | None = None):
        self.line = line
        self.type = type
        self.process = process
        self.id = id
        self.f = f
        self.key = key
        self.value = value
        self.time = time
        self.error = error


class _Open:
    __slots__ = ("ops", "f", "key", "value", "line", "dropped", "process", "id")

    def __init__(self, ops: tuple[int, ...], r: OpLine, dropped: bool):
        self.ops = ops
        self.f = r.f
        self.key = r.key
        self.value = r.value
        self.line = r.line
        self.dropped = dropped
        self.process = r.process
        self.id = r.id


Item = tuple[int, int, Event]  # (line, unit, event): unit = the line of the operation's invocation


class Assembler:
    """Pairs completions with invocations and makes the events (see the module docstring).

    Args:
        failed: the invocations (counted from 0 in file order) whose operation definitely
            failed, from `scan`; None while scanning.
        what: how the format names a process and an id, for error messages.
    """

    def __init__(self, failed: Bits | None = None, what: str = "process"):
        self.failed = failed
        self.found = Bits()  # while scanning: the invocations whose write definitely failed
        self.what = what
        self._by_process: dict[str, _Open] = {}
        self._by_id: dict[str, _Open] = {}
        self._next_op = 0
        self._invocations = 0
        self._ordinal: dict[int, int] = {}  # first op of an open invocation -> its ordinal
        self.operations = 0
        self.cas = 0  # cas operations invoked (and not left out)
        self.cas_failed = 0  # of them, those that definitely failed (known while scanning)
        self.left_out = 0  # operations left out: definitely failed writes and cas

    def open_count(self) -> int:
        return len(self._by_process) + len(self._by_id)

    def feed(self, r: OpLine) -> Iterator[Item]:
        if r.type == "invoke":
            yield from self._invoke(r)
        else:
            yield from self._complete(r)

    def _invoke(self, r: OpLine) -> Iterator[Item]:
        if r.id is not None:
            if r.id in self._by_id:
                raise HistoryError(f"operation id {r.id!r} is already open (invoked on line "
                                   f"{self._by_id[r.id].line}); an id names one open operation", r.line)
        elif r.process in self._by_process:
            raise HistoryError(
                f"{self.what} {r.process!r} invokes while its operation of line {self._by_process[r.process].line} "
                f"is still open: complete it first, or give each operation an \"id\"", r.line)
        ordinal = self._invocations
        self._invocations += 1
        self.operations += 1
        dropped = self.failed is not None and ordinal in self.failed
        n = 2 if r.f == CAS else 1
        ops = tuple(range(self._next_op, self._next_op + n))
        self._next_op += n
        o = _Open(ops, r, dropped)
        self._ordinal[ops[0]] = ordinal
        if r.id is not None:
            self._by_id[r.id] = o
        else:
            self._by_process[r.process] = o  # type: ignore[index]
        if dropped:
            self.left_out += 1
            return
        client = r.process if r.process is not None else f"id {r.id}"
        if r.f == CAS:
            self.cas += 1
            yield r.line, r.line, Invoke(ops[0], client, "read", r.key, None, r.time)
            yield r.line, r.line, Invoke(ops[1], client, "write", r.key, r.value[1], r.time)
        else:
            value = r.value if r.f == "write" else None
            yield r.line, r.line, Invoke(ops[0], client, r.f, r.key if r.f != "flush" else None, value, r.time)  # type: ignore[arg-type]

    def _complete(self, r: OpLine) -> Iterator[Item]:
        if r.id is not None:
            o = self._by_id.pop(r.id, None)
            if o is None:
                raise HistoryError(f"{r.type} names operation id {r.id!r}, which is not open "
                                   "(no invoke with that id before it, or completed already)", r.line)
        else:
            o = self._by_process.pop(r.process, None)  # type: ignore[arg-type]
            if o is None:
                raise HistoryError(f"{r.type} of {self.what} {r.process!r} completes nothing: "
                                   f"that {self.what} has no open invoke", r.line)
        ordinal = self._ordinal.pop(o.ops[0])
        if r.f is not None and r.f != o.f:
            raise HistoryError(f"{r.type} says f {r.f!r}, but completes the {o.f!r} invoked on line {o.line}", r.line)
        if r.key is not None and o.key is not None and r.key != o.key:
            raise HistoryError(f"{r.type} names key {r.key!r}, but completes the operation on key {o.key!r} "
                               f"invoked on line {o.line}", r.line)
        if r.type == "ok" and o.f == "write" and r.value is not None and r.value != o.value:
            raise HistoryError(f"ok of a write names value {r.value!r}; its invoke (line {o.line}) wrote {o.value!r}",
                               r.line)
        if o.dropped:
            return
        unit, t = o.line, r.time
        if r.type == "ok":
            if o.f == CAS:
                yield r.line, unit, Ok(o.ops[0], o.value[0], t)
                yield r.line, unit, Ok(o.ops[1], None, t)
            else:
                yield r.line, unit, Ok(o.ops[0], r.value if o.f == "read" else None, t)
            return
        if r.type == "fail" and o.f in ("write", "delete", CAS):
            # Not applied (a delete is a write of None: model.vocabulary.WRITES). Reached only while scanning: the second reading left it out.
            self.found.add(ordinal)
            self.cas_failed += o.f == CAS
            for op in o.ops:
                yield r.line, unit, Fail(op, "fail", t)
            return
        error = r.error or ("indeterminate (info)" if r.type == "info" else "failed")
        for op in o.ops:
            yield r.line, unit, Fail(op, error, t)
