"""Jepsen's EDN histories of registers: one op map per line.

    {:type :invoke, :f :write, :value [0 3], :process 0, :time 3291485317, :index 0}
    {:type :ok, :f :write, :value [0 3], :process 0, :time 3767733708, :index 1}
    {:type :invoke, :f :cas, :value [0 [3 1]], :process 1, :time 3872000000}
    {:type :fail, :f :cas, :value [0 [3 1]], :process 1, :time 3891000000}
    {:type :info, :f :start, :process :nemesis, :time 4000000000}

* `:type` `:invoke`, `:ok`, `:fail` (did not take effect), `:info` (may have taken effect:
  a write that timed out; a read with no value). A completion completes the open invoke of
  the same `:process`.
* `:f` `:read`, `:write`, `:cas` (`[from to]`); `:value` `[k v]` is an independent key's
  tuple (`jepsen.independent`), a bare value is the one register "register".
* `:time` is in nanoseconds (converted to seconds); without it an op takes the time of
  the line before.
* ops of `:process :nemesis` are Jepsen's own faults: not a register operation, skipped.
* Elle's transactional histories (`:f :txn`, micro-ops `[[:r k v] ...]`) are out of scope.

Values are compared as text (`3` and `"3"` are the same value). Jepsen's registers write
repeated small integers, so values are not unique: the contract's explanations then keep
every write a read could have seen, which is exact but can run past the explanation limit
(an UNKNOWN with the reason, never a guess).

The reader parses the subset of EDN an op map uses (maps, vectors, lists, keywords,
strings, integers, floats, nil, booleans, symbols) itself, ~100 times faster than a full
EDN parser; a line beyond it (sets, tagged literals) is read with the `edn_format` package
when it is installed (the `edn` extra).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from model.events import Event

from conformance.histories.errors import HistoryError
from conformance.histories.ops import CAS, OpLine, text

__all__ = ["Keyword", "Counts", "parse", "read_lines", "SINGLE_KEY"]

#: The key of a history whose values are bare (no `[k v]` tuples).
SINGLE_KEY = "register"
NS = 1e9


class Keyword(str):
    """An EDN keyword, without its colon: Keyword("invoke") is `:invoke`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + self


class Symbol(str):
    __slots__ = ()


class _Unsupported(Exception):
    pass


_TOKEN = re.compile(r"""[\s,]*(?:
    (?P<p>[{}\[\]()])
  | (?P<s>"(?:[^"\\]|\\.)*")
  | (?P<k>:[^\s,{}\[\]()"]+)
  | (?P<a>[^\s,{}\[\]()"\#;]+)
  | (?P<o>\S)
)""", re.X)
_INT = re.compile(r"[-+]?\d+N?")
_FLOAT = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?M?")
_ATOMS = {"nil": None, "true": True, "false": False}
_CLOSE = {"{": "}", "[": "]", "(": ")"}


def _small(s: str) -> Any:
    tokens = _TOKEN.finditer(s)
    end = [0]

    def value(m: re.Match[str] | None) -> Any:
        if m is None:
            raise _Unsupported("unexpected end of line")
        end[0] = m.end()
        kind = m.lastgroup
        tok = m.group(kind)  # type: ignore[arg-type]
        if kind == "p":
            if tok not in _CLOSE:
                raise _Unsupported(f"unexpected {tok!r}")
            items = []
            while True:
                n = next(tokens, None)
                if n is None:
                    raise _Unsupported(f"{tok!r} is not closed")
                if n.lastgroup == "p" and n.group("p") in "}])":
                    end[0] = n.end()
                    if n.group("p") != _CLOSE[tok]:
                        raise _Unsupported(f"{tok!r} closed by {n.group('p')!r}")
                    break
                items.append(value(n))
            if tok == "{":
                if len(items) % 2:
                    raise _Unsupported("a map with an odd number of forms")
                try:
                    return dict(zip(items[::2], items[1::2]))
                except TypeError:
                    raise _Unsupported("a map key that is a collection") from None
            return items
        if kind == "s":
            try:
                return json.loads(tok)
            except ValueError:
                raise _Unsupported("a string escape") from None
        if kind == "k":
            return Keyword(tok[1:])
        if kind == "a":
            if tok in _ATOMS:
                return _ATOMS[tok]
            if _INT.fullmatch(tok):
                return int(tok.rstrip("N"))
            if _FLOAT.fullmatch(tok):
                return float(tok.rstrip("M"))
            if tok[0].isdigit() or (tok[0] in "+-" and tok[1:2].isdigit()):
                raise _Unsupported(f"the number {tok!r}")
            return Symbol(tok)
        raise _Unsupported(f"{tok!r} (sets, tagged literals, characters)")

    v = value(next(tokens, None))
    if s[end[0]:].strip(" \t\r\n,"):
        raise _Unsupported("more than one form on the line")
    return v


def _from_edn_format(v: Any) -> Any:
    import edn_format  # type: ignore[import-not-found]

    if isinstance(v, edn_format.Keyword):
        return Keyword(v.name)
    if isinstance(v, edn_format.Symbol):
        return Symbol(v.name)
    if isinstance(v, (str, bytes)):
        return v
    if isinstance(v, Mapping):
        return {_from_edn_format(k): _from_edn_format(x) for k, x in v.items()}
    if isinstance(v, AbstractSet):
        return frozenset(_from_edn_format(x) for x in v)
    if isinstance(v, Sequence):
        return [_from_edn_format(x) for x in v]
    return v


def parse(s: str, line: int = 0) -> Any:
    """One EDN form. The op-map subset is read here; anything else by `edn_format`."""
    try:
        return _small(s)
    except _Unsupported as e:
        why = str(e)
    try:
        import edn_format
    except ImportError:
        raise HistoryError(f"not an EDN op map this reader understands ({why}); for full EDN install the "
                           "edn extra: pip install 'cache-conformance[edn]'", line) from None
    try:
        return _from_edn_format(edn_format.loads(s))
    except Exception as e:  # noqa: BLE001 - edn_format raises its own assorted errors
        raise HistoryError(f"not EDN ({why}; edn_format: {str(e).splitlines()[0][:80] if str(e) else type(e).__name__})",
                           line) from None


def _kw(op: dict[Any, Any], name: str) -> Any:
    return op.get(Keyword(name))


_TYPES = ("invoke", "ok", "fail", "info")
_FS = ("read", "write", CAS)


def _is_micro_ops(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(m, list) and m and isinstance(m[0], Keyword) for m in v)


def _value(s: Any, line: int, what: str) -> str | None:
    try:
        return text(s if not isinstance(s, Keyword) else ":" + s)
    except TypeError:
        raise HistoryError(f"expected {what} to be a number, a string, a keyword or nil; got {_show(s)}", line) from None


def _show(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, list):
        return "[" + " ".join(_show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_show(k)} {_show(x)}" for k, x in v.items()) + "}"
    return repr(v) if isinstance(v, (Keyword, str)) else str(v)


class Counts:
    """What the reader skipped, for the report."""

    def __init__(self) -> None:
        self.nemesis = 0



def read_lines(numbered: Iterable[tuple[int, str]], counts: Counts | None = None) -> Iterator[OpLine | tuple[int, Event]]:
    """`OpLine`s of a Jepsen register history, one op map per line (a file wrapped in one
    `[` ... `]` vector is read too)."""
    counts = counts if counts is not None else Counts()
    last_time = 0.0
    first = True
    for n, raw in numbered:
        s = raw.strip()
        if first and s.startswith("["):
            s = s[1:].lstrip()
        if not s:
            continue
        first = False
        if s.endswith("]") and s.count("[") < s.count("]"):
            s = s[:-1].rstrip()  # the closing bracket of a wrapped history
            if not s:
                continue
        if s.startswith(";"):
            continue
        op = parse(s, n)
        if not isinstance(op, dict):
            raise HistoryError(f"expected an op map {{:type ..., :f ..., :value ..., :process ...}}; got {_show(op)[:60]}", n)
        kind, f, process = _kw(op, "type"), _kw(op, "f"), _kw(op, "process")
        value = _kw(op, "value")
        if f == "txn" or (f not in _FS and _is_micro_ops(value)):
            raise HistoryError("an Elle transactional op (:f :txn): Elle's transactional histories are out of scope "
                               "here; this reader takes Jepsen register histories (:f :read, :write, :cas); check "
                               "transactions with Elle (elle-cli)", n)
        if process == "nemesis" and isinstance(process, Keyword):
            counts.nemesis += 1
            continue
        if kind not in _TYPES or not isinstance(kind, Keyword):
            raise HistoryError(f"expected :type to be one of {', '.join(':' + t for t in _TYPES)}; got {_show(kind)}", n)
        if f not in _FS or not isinstance(f, Keyword):
            raise HistoryError(f"expected :f to be :read, :write or :cas (a register's operations); got {_show(f)}", n)
        if isinstance(process, bool) or not isinstance(process, (int, str)):
            raise HistoryError(f"expected :process to be an integer (or :nemesis); got {_show(process)}", n)
        client = f"p{process}" if isinstance(process, int) else str(process)
        t = _kw(op, "time")
        if t is not None:
            if isinstance(t, bool) or not isinstance(t, (int, float)):
                raise HistoryError(f"expected :time to be nanoseconds (an integer); got {_show(t)}", n)
            last_time = t / NS
        key, v = _split(f, value, kind, n)
        error = _kw(op, "error")
        yield OpLine(n, str(kind), client, None, str(f), key, v, last_time,
                     None if error is None else _show(error))


def _split(f: str, value: Any, kind: str, n: int) -> tuple[str, Any]:
    """(key, value) of an op's :value: `[k v]` tuples or a bare value; for cas (from, to)."""
    if f == CAS:
        if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
            key, pair = _value(value[0], n, "the key"), value[1]
        else:
            key, pair = SINGLE_KEY, value
        if not (isinstance(pair, list) and len(pair) == 2):
            raise HistoryError(f"expected a cas :value [from to] or [k [from to]]; got {_show(value)}", n)
        return key, (_value(pair[0], n, "cas's from"), _value(pair[1], n, "cas's to"))  # type: ignore[return-value]
    if isinstance(value, list):
        if len(value) != 2:
            raise HistoryError(f"expected :value to be [k v] (an independent key's tuple) or a bare value; got {_show(value)}", n)
        key, v = _value(value[0], n, "the key"), value[1]
    else:
        key, v = SINGLE_KEY, value
    if key is None:
        raise HistoryError("expected the key of [k v] not to be nil", n)
    if f == "write" and kind == "invoke" and v is None:
        raise HistoryError("expected a write's :value to be a value, not nil", n)
    if f == "read" and kind == "invoke":
        return key, None  # what a read invocation carries is not its result
    return key, _value(v, n, ":value")
