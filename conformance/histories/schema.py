"""This project's history format: JSON Lines, schema version 1 (docs/HISTORY.md).

One JSON object per line, every line carrying `"v": 1`:

    {"v":1,"type":"meta","policy":"write-through","initial":{"k0":"v0"},"staleness":300}
    {"v":1,"type":"invoke","process":"c0","f":"write","key":"k0","value":"v1","time":0,"id":0}
    {"v":1,"type":"ok","process":"c0","f":"write","key":"k0","value":"v1","time":0.5,"id":0}
    {"v":1,"type":"fault","fault":"db-down","time":1}
    {"v":1,"type":"invoke","process":"c1","f":"read","key":"k0","time":1}
    {"v":1,"type":"info","process":"c1","f":"read","key":"k0","time":2,"error":"ConnectionError"}
    {"v":1,"type":"info","f":"crash","time":3,"durable":false}
    {"v":1,"type":"db","key":"k0","value":"v1","time":3}
    {"v":1,"type":"clock","time":3600}
    {"v":1,"type":"cache","key":"k0","value":null,"expires_at":null,"db":"v1","time":3700}

`read_lines` turns the lines into `OpLine`s (for `ops.Assembler`) and events; `lines`
writes events back, so a history recorded by `check --record` reads back as the same
events.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from model.events import CacheEntry, CacheObserved, Crash, DbObserved, Event, Fail, Fault, Invoke, Ok, Tick
from model.vocabulary import CRASH, OPERATIONS, STORE_FAULTS

from conformance.histories.errors import HistoryError
from conformance.histories.ops import OP_TYPES, OpLine, text

__all__ = ["VERSION", "TYPES", "Meta", "parse_line", "read_lines", "lines", "meta_line"]

VERSION = 1
#: Every line type, in the order docs/HISTORY.md lists them.
TYPES = ("meta",) + OP_TYPES + ("fault", "db", "cache", "clock")
_decode = json.JSONDecoder().decode


class Meta:
    """The optional first line: what the run that recorded the history was checked with.

    Attributes:
        policy: the policy the recorder checked (informational: `--policy` decides).
        initial: the DB's value of each key before the history (absent: None).
        staleness: the bounded-staleness bound in seconds (default: the command's).
        durable: the subject declared its pending writes durable.
    """

    def __init__(self, policy: str | None = None, initial: dict[str, str | None] | None = None,
                 staleness: float | None = None, durable: bool = False):
        self.policy = policy
        self.initial = dict(initial or {})
        self.staleness = staleness
        self.durable = durable


def _fail(line: int, message: str) -> HistoryError:
    return HistoryError(message, line)


def _number(obj: dict[str, Any], name: str, line: int, *, required: bool = True) -> float | None:
    v = obj.get(name)
    if type(v) is int:  # the common case first: this runs for every line
        return float(v)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        what = "missing" if name not in obj else f"got {json.dumps(v)}"
        raise _fail(line, f"expected \"{name}\" to be a number ({what})")
    return float(v)


def _scalar(obj: dict[str, Any], name: str, line: int, *, required: bool, null: bool) -> str | None:
    if name not in obj:
        if required:
            raise _fail(line, f"expected a \"{name}\" field on a {obj.get('type')!r} line")
        return None
    v = obj[name]
    if type(v) is str:
        return v  # type: ignore[no-any-return]
    if v is None:
        if not null:
            raise _fail(line, f"expected \"{name}\" to be a string or a number, not null")
        return None
    try:
        return text(v)
    except TypeError:
        raise _fail(line, f"expected \"{name}\" to be a string, a number or null; got {json.dumps(v)[:60]}") from None


def _process(obj: dict[str, Any], line: int) -> str | None:
    p = obj.get("process")
    if type(p) is str:
        return p  # type: ignore[no-any-return]
    if p is None:
        return None
    if isinstance(p, bool) or not isinstance(p, (str, int)):
        raise _fail(line, f"expected \"process\" to be a string or an integer; got {json.dumps(p)[:60]}")
    return f"p{p}" if isinstance(p, int) else p


def _entries(obj: dict[str, Any], line: int) -> tuple[CacheEntry, ...]:
    raw = obj.get("cache", [])
    if not isinstance(raw, list):
        raise _fail(line, "expected \"cache\" to be a list of {\"key\", \"value\", \"expires_at\"} entries")
    out = []
    for c in raw:
        if not isinstance(c, dict):
            raise _fail(line, "expected each \"cache\" entry to be an object {\"key\", \"value\", \"expires_at\"}")
        key = _scalar(c, "key", line, required=True, null=False)
        value = _scalar(c, "value", line, required=True, null=False)
        out.append(CacheEntry(key, value, _number(c, "expires_at", line, required=False)))  # type: ignore[arg-type]
    return tuple(out)


def parse_line(raw: str, line: int) -> dict[str, Any] | None:
    """The JSON object of one line (None for a blank line)."""
    try:
        obj = _decode(raw)
    except json.JSONDecodeError as e:
        if not raw.strip():
            return None
        raise _fail(line, f"not JSON ({e.msg} at column {e.colno}): expected one JSON object per line") from None
    if type(obj) is not dict:
        raise _fail(line, f"expected a JSON object, got {type(obj).__name__}")
    v = obj.get("v")
    if v == VERSION and type(v) is int:
        return obj  # type: ignore[no-any-return]
    if "v" not in obj:
        raise _fail(line, f"expected \"v\": {VERSION} on every line (the schema version)")
    raise _fail(line, f"schema version {json.dumps(v)} is not one this reader knows (it reads \"v\": {VERSION})")


def meta_of(obj: dict[str, Any], line: int) -> Meta:
    policy = obj.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise _fail(line, "expected \"policy\" to be a string")
    initial = obj.get("initial", {})
    if not isinstance(initial, dict):
        raise _fail(line, "expected \"initial\" to be an object {key: value or null}")
    init = {}
    for k, v in initial.items():
        try:
            init[k] = text(v)
        except TypeError:
            raise _fail(line, f"expected the initial value of {k!r} to be a string, a number or null") from None
    durable = obj.get("durable", False)
    if not isinstance(durable, bool):
        raise _fail(line, "expected \"durable\" to be true or false")
    staleness = _number(obj, "staleness", line, required=False)
    if staleness is not None and staleness < 0:
        raise _fail(line, "expected \"staleness\" to be a non-negative number of seconds")
    return Meta(policy, init, staleness, durable)


def read_lines(numbered: Iterable[tuple[int, str]]) -> Iterator[OpLine | tuple[int, Event] | Meta]:
    """The lines of a schema-1 file as `OpLine`s (operations), `(line, event)` pairs
    (everything else) and, first if the file has one, its `Meta`."""
    first = True
    for n, raw in numbered:
        obj = parse_line(raw, n)
        if obj is None:
            continue
        kind = obj.get("type")
        if kind == "meta":
            if not first:
                raise _fail(n, "a \"meta\" line may only be the first line of the file")
            first = False
            yield meta_of(obj, n)
            continue
        first = False
        if kind not in TYPES:
            raise _fail(n, f"expected \"type\" to be one of {', '.join(TYPES)}; got {json.dumps(kind)[:40]}")
        t = _number(obj, "time", n)
        assert t is not None
        if kind in OP_TYPES:
            f = obj.get("f")
            if kind == "info" and f == CRASH:
                durable = obj.get("durable", False)
                if not isinstance(durable, bool):
                    raise _fail(n, "expected \"durable\" to be true or false")
                yield n, Crash(t, durable, _entries(obj, n))
                continue
            yield _op(obj, kind, f, t, n)
        elif kind == "fault":
            fault = obj.get("fault")
            if fault not in STORE_FAULTS:
                raise _fail(n, f"expected \"fault\" to be one of {', '.join(STORE_FAULTS)}; got {json.dumps(fault)[:40]}"
                               " (a crash is {\"type\":\"info\",\"f\":\"crash\"}, the clock {\"type\":\"clock\"})")
            key = _scalar(obj, "key", n, required=fault == "evict", null=fault != "evict")
            yield n, Fault(fault, t, key if fault == "evict" else None, _entries(obj, n))
        elif kind == "db":
            yield n, DbObserved(_scalar(obj, "key", n, required=True, null=False), _scalar(obj, "value", n, required=True, null=True), t)  # type: ignore[arg-type]
        elif kind == "cache":
            key = _scalar(obj, "key", n, required=True, null=False)
            value = _scalar(obj, "value", n, required=True, null=True)
            expires = _number(obj, "expires_at", n, required=False)
            if "db" not in obj:
                raise _fail(n, "expected a \"db\" field on a \"cache\" line: the DB's value seen at the same instant")
            db = _scalar(obj, "db", n, required=True, null=True)
            yield n, CacheObserved(key, value, expires, db, t)  # type: ignore[arg-type]
        else:
            yield n, Tick(t)


#: write, read, flush, delete (model.vocabulary.OPERATIONS): a delete names a key and no
#: value (it writes the absent value: reads of null after it are matched against it).
_FS = OPERATIONS


def _op(obj: dict[str, Any], kind: str, f: Any, t: float, n: int) -> OpLine:
    process = _process(obj, n)
    op_id = obj.get("id")
    if op_id is not None:
        if isinstance(op_id, bool) or not isinstance(op_id, (str, int)):
            raise _fail(n, "expected \"id\" to be a string or an integer")
        op_id = str(op_id)
    if kind == "invoke":
        if f not in _FS:
            raise _fail(n, f"expected \"f\" to be one of {', '.join(_FS)} on an invoke; got {json.dumps(f)[:40]}")
        if process is None and op_id is None:
            raise _fail(n, "expected a \"process\" (or an \"id\") on an invoke")
        key = _scalar(obj, "key", n, required=f != "flush", null=f == "flush")
        value = _scalar(obj, "value", n, required=f == "write", null=f != "write")
        if f == "delete" and value is not None:
            # Refused rather than ignored: it would read as a write of that value.
            raise _fail(n, "expected no \"value\" on a delete invoke: a delete removes the key (reads return null)")
        return OpLine(n, kind, process, op_id, f, key, value if f == "write" else None, t)
    if f is not None and f not in _FS:
        raise _fail(n, f"expected \"f\" to be one of {', '.join(_FS)} (or crash, on an info line); got {json.dumps(f)[:40]}")
    if process is None and op_id is None:
        raise _fail(n, f"expected a \"process\" or an \"id\" on an {kind} line: the invoke it completes")
    key = _scalar(obj, "key", n, required=False, null=True)
    value = _scalar(obj, "value", n, required=False, null=True)
    error = obj.get("error")
    return OpLine(n, kind, process, op_id, f, key, value, t, None if error is None else str(error))


# ---------------------------------------------------------------- writing

def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _time(t: float) -> float | int:
    return int(t) if float(t).is_integer() and abs(t) < 2**53 else t


def meta_line(policy: str | None = None, initial: dict[str, str | None] | None = None,
              staleness: float | None = None, durable: bool = False) -> str:
    obj: dict[str, Any] = {"v": VERSION, "type": "meta"}
    if policy is not None:
        obj["policy"] = policy
    if initial:
        obj["initial"] = initial
    if staleness is not None:
        obj["staleness"] = _time(staleness)
    if durable:
        obj["durable"] = True
    return _dump(obj)


def _cache(entries: tuple[CacheEntry, ...]) -> list[dict[str, Any]]:
    return [{"key": c.key, "value": c.value, "expires_at": None if c.expires_at is None else _time(c.expires_at)}
            for c in entries]


def lines(events: Iterable[Event]) -> Iterator[str]:
    """Schema-1 lines of `events`, one per event. Every operation line carries its `id`, so
    a client with two operations open at once (a crash cut one short) reads back the same.
    Our `Fail` is indeterminate (a failed write may have taken effect): written as `info`."""
    open_ops: dict[int, Invoke] = {}
    for e in events:
        if isinstance(e, Invoke):
            open_ops[e.op] = e
            obj: dict[str, Any] = {"v": VERSION, "type": "invoke", "process": e.client, "f": e.kind}
            if e.key is not None:
                obj["key"] = e.key
            if e.kind == "write":
                obj["value"] = e.value
            obj["time"] = _time(e.time)
            obj["id"] = e.op
        elif isinstance(e, (Ok, Fail)):
            inv = open_ops.pop(e.op, None)
            obj = {"v": VERSION, "type": "ok" if isinstance(e, Ok) else "info"}
            if inv is not None:
                obj["process"] = inv.client
                obj["f"] = inv.kind
                if inv.key is not None:
                    obj["key"] = inv.key
            if isinstance(e, Ok) and inv is not None and inv.kind in ("read", "write"):
                obj["value"] = e.result if inv.kind == "read" else inv.value
            obj["time"] = _time(e.time)
            obj["id"] = e.op
            if isinstance(e, Fail):
                obj["error"] = e.error
        elif isinstance(e, Fault):
            obj = {"v": VERSION, "type": "fault", "fault": e.kind}
            if e.key is not None:
                obj["key"] = e.key
            obj["time"] = _time(e.time)
            if e.cache:
                obj["cache"] = _cache(e.cache)
        elif isinstance(e, Crash):
            obj = {"v": VERSION, "type": "info", "f": CRASH, "time": _time(e.time)}
            if e.durable:
                obj["durable"] = True
            if e.cache:
                obj["cache"] = _cache(e.cache)
        elif isinstance(e, DbObserved):
            obj = {"v": VERSION, "type": "db", "key": e.key, "value": e.value, "time": _time(e.time)}
        elif isinstance(e, CacheObserved):
            obj = {"v": VERSION, "type": "cache", "key": e.key, "value": e.value,
                   "expires_at": None if e.expires_at is None else _time(e.expires_at), "db": e.db_value,
                   "time": _time(e.time)}
        elif isinstance(e, Tick):
            obj = {"v": VERSION, "type": "clock", "time": _time(e.time)}
        else:
            raise TypeError(f"not an event: {e!r}")
        yield _dump(obj)

