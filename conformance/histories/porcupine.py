"""Porcupine's operations as JSON: a JSON array, or JSON Lines, of

    {"client": 0, "input": {"op": "write", "key": "x", "value": "1"}, "call": 0, "output": {}, "return": 10}
    {"client": 1, "input": {"op": "read", "key": "x"}, "call": 5, "output": {"value": "1"}, "return": 12}

the fields of Porcupine's `Operation` (`ClientId`, `Input`, `Call`, `Output`, `Return`) for
a key-value register:

* `client`: an integer (shown as lane pN) or a string;
* `input.op`: `read` or `write`; `input.key` (optional: one register "register"), and
  `input.value` for a write;
* `call`, `return`: integer timestamps in nanoseconds; the interval is closed, so an
  operation that returns at t overlaps one called at t; `return` null (or absent): the
  operation never returned (a write may have taken effect or not);
* `output.value`: the value a read returned (null: the key was absent).

Porcupine's histories have no failures and no faults. The operations are turned into
call and return events in time order: read in call order (Porcupine's own order is
free), one operation at a time, keeping only those not yet returned; a file not in call
order is sorted in memory (said in the report).
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Iterable, Iterator
from typing import IO, Any

from model.events import Event, Invoke, Ok

from conformance.histories.errors import HistoryError
from conformance.histories.ops import text

__all__ = ["Op", "read_ops", "events", "in_call_order", "SINGLE_KEY"]

SINGLE_KEY = "register"
NS = 1e9


class Op:
    __slots__ = ("line", "client", "kind", "key", "value", "call", "ret", "result", "op")

    def __init__(self, line: int, client: str, kind: str, key: str, value: str | None, call: int,
                 ret: int | None, result: str | None):
        self.line, self.client, self.kind, self.key, self.value = line, client, kind, key, value
        self.call, self.ret, self.result = call, ret, result
        self.op = -1  # the event's operation id, once its call is emitted


def _time(obj: dict[str, Any], name: str, line: int, required: bool) -> int | None:
    v = obj.get(name)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise HistoryError(f"expected \"{name}\" to be a timestamp (an integer, nanoseconds); got {json.dumps(v)}", line)
    return v  # type: ignore[return-value]


def _op(obj: Any, line: int) -> Op:
    if not isinstance(obj, dict):
        raise HistoryError("expected an operation {\"client\", \"input\", \"call\", \"output\", \"return\"}", line)
    client = obj.get("client")
    if isinstance(client, bool) or not isinstance(client, (int, str)):
        raise HistoryError(f"expected \"client\" to be an integer or a string; got {json.dumps(client)}", line)
    inp = obj.get("input")
    if not isinstance(inp, dict) or inp.get("op") not in ("read", "write"):
        raise HistoryError("expected \"input\" to be {\"op\": \"read\"|\"write\", \"key\": ..., \"value\": ...}", line)
    kind = inp["op"]
    try:
        key = text(inp.get("key", SINGLE_KEY))
        value = text(inp.get("value")) if kind == "write" else None
    except TypeError:
        raise HistoryError("expected input's key and value to be strings or numbers", line) from None
    if key is None:
        raise HistoryError("expected input's \"key\" not to be null", line)
    if kind == "write" and value is None:
        raise HistoryError("expected a write's input to have a \"value\"", line)
    call = _time(obj, "call", line, True)
    ret = _time(obj, "return", line, False)
    if ret is not None and ret < call:  # type: ignore[operator]
        raise HistoryError(f"\"return\" {ret} is before \"call\" {call}", line)
    result = None
    if kind == "read" and ret is not None:
        out = obj.get("output")
        if not isinstance(out, dict) or "value" not in out:
            raise HistoryError("expected a read's \"output\" to be {\"value\": the value read, or null}", line)
        try:
            result = text(out["value"])
        except TypeError:
            raise HistoryError("expected output's \"value\" to be a string, a number or null", line) from None
    name = f"p{client}" if isinstance(client, int) else client
    return Op(line, name, kind, key, value, call, ret, result)  # type: ignore[arg-type]


def _array(fh: IO[str]) -> Iterator[tuple[int, Any]]:
    """The elements of a JSON array, one at a time, with the line each starts on."""
    dec = json.JSONDecoder()
    buf, pos, line, state = "", 0, 1, "open"
    eof = False

    def fill() -> bool:
        nonlocal buf, pos
        chunk = fh.read(1 << 16)
        if not chunk:
            return False
        buf = buf[pos:] + chunk
        pos = 0
        return True

    while True:
        # skip whitespace, counting lines
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                if buf[pos] == "\n":
                    line += 1
                pos += 1
            if pos < len(buf) or eof:
                break
            eof = not fill()
        if pos >= len(buf):
            raise HistoryError("the JSON array is not closed with ]", line)
        c = buf[pos]
        if state == "open":
            if c != "[":
                raise HistoryError("expected a JSON array of operations, or one operation per line", line)
            pos += 1
            state = "first"
            continue
        if state in ("first", "comma") and c == "]":
            if state == "comma":
                raise HistoryError("a comma before ]", line)
            return
        if state == "after":
            if c == "]":
                return
            if c != ",":
                raise HistoryError(f"expected , or ] after an operation; got {c!r}", line)
            pos += 1
            state = "comma"
            continue
        while True:
            try:
                obj, end = dec.raw_decode(buf, pos)
            except json.JSONDecodeError as e:
                if not eof and fill():
                    continue
                eof = True
                raise HistoryError(f"not JSON ({e.msg})", line) from None
            if end == len(buf) and not eof and fill():
                continue  # a number could go on in the next chunk
            break
        start = line
        line += buf.count("\n", pos, end)
        pos = end
        state = "after"
        yield start, obj


def read_ops(fh: IO[str], first: str) -> Iterator[Op]:
    """The operations of a JSON array (`first` is "[") or of JSON Lines."""
    if first == "[":
        for line, obj in _array(fh):
            yield _op(obj, line)
        return
    for n, raw in enumerate(fh, 1):
        s = raw.strip()
        if not s:
            continue
        try:
            obj = json.loads(s)
        except json.JSONDecodeError as e:
            raise HistoryError(f"not JSON ({e.msg} at column {e.colno}): expected one operation per line", n) from None
        yield _op(obj, n)


def in_call_order(ops: Iterable[Op]) -> tuple[bool, int]:
    """Whether `ops` come in order of call time, and how many there are."""
    last, n, ordered = None, 0, True
    for o in ops:
        n += 1
        if last is not None and o.call < last:
            ordered = False
        last = o.call
    return ordered, n


def events(ops: Iterable[Op]) -> Iterator[tuple[int, int, Event]]:
    """(line, unit, event) in time order, from operations in call order: a return at t
    comes after every call at t (closed intervals), returns at one time in call order."""
    pending: list[tuple[int, int, Op]] = []
    seq = 0
    for o in ops:
        while pending and pending[0][0] < o.call:
            yield _ret(heapq.heappop(pending)[2])
        o.op = seq
        seq += 1
        yield o.line, o.line, Invoke(o.op, o.client, o.kind, o.key, o.value, o.call / NS)  # type: ignore[arg-type]
        if o.ret is not None:
            heapq.heappush(pending, (o.ret, o.op, o))
    while pending:
        yield _ret(heapq.heappop(pending)[2])


def _ret(o: Op) -> tuple[int, int, Event]:
    return o.line, o.line, Ok(o.op, o.result if o.kind == "read" else None, o.ret / NS)  # type: ignore[operator]
