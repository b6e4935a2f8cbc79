"""A history file: its format (given or sniffed), its first line's parameters, and its
events as a stream, read as many times as the check needs (stdin is spooled to a file).

    src = HistorySource(Path("h.jsonl"))
    src.scan()                       # the first reading: definite failures, call order
    for line, unit, event in src.items():
        ...

`items()` yields `(line, unit, event)`: the line the event comes from, and its unit (the
line of the operation's invocation for the events of one operation, else the line
itself): what delta debugging keeps or drops together.
"""

from __future__ import annotations

import codecs
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from model.events import Event

from conformance.histories import edn, porcupine, schema
from conformance.histories.errors import HistoryError
from conformance.histories.ops import Assembler, Bits, OpLine

__all__ = ["FORMATS", "HistorySource", "sniff", "spool", "numbered"]

FORMATS = ("jsonl", "edn", "porcupine")


def _cannot(path: Path, e: OSError) -> HistoryError:
    # source "": the message names the file already
    return HistoryError(f"cannot read {str(path)!r}: {e.strerror or e}", source="")


def numbered(fh: IO[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, decoded as UTF-8 (one clear error where not)."""
    for n, raw in enumerate(fh, 1):
        try:
            s = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HistoryError(f"not UTF-8 text (byte {e.start + 1} of the line)", n) from None
        if n == 1 and s.startswith("\ufeff"):
            s = s[1:]
        yield n, s


def _contains(fh: IO[bytes], token: bytes) -> bool:
    tail = b""
    while chunk := fh.read(1 << 20):
        if token in tail + chunk[: len(token)] or token in chunk:
            return True
        tail = chunk[-len(token):]
    return False


def spool(stream: IO[Any]) -> Path:
    """Copy `stream` (stdin) to a temporary file, so that it can be read more than once.
    The caller removes the file."""
    tmp = tempfile.NamedTemporaryFile(prefix="cc-history-", suffix=".spool", delete=False)
    with tmp:
        src = getattr(stream, "buffer", None)
        if src is not None:
            shutil.copyfileobj(src, tmp)
        else:
            writer = codecs.getwriter("utf-8")(tmp)
            shutil.copyfileobj(stream, writer)
            writer.flush()
    return Path(tmp.name)


def sniff(path: Path) -> str:
    """The format of the file at `path`, from its first characters."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff")
    except OSError as e:
        raise _cannot(path, e) from None
    s = head.lstrip()
    if not s:
        raise HistoryError("the file is empty: no history to check")
    give = "; give --format jsonl, edn or porcupine"
    if s[0] == "[":
        rest = s[1:].lstrip()
        if rest.startswith("{"):
            return "edn" if rest[1:].lstrip().startswith(":") else "porcupine"
        if rest.startswith("]"):
            return "porcupine"
        raise HistoryError("a vector that holds neither op maps (Jepsen EDN) nor JSON operations (Porcupine)" + give, 1)
    if s[0] == "{":
        if s[1:].lstrip().startswith(":"):
            return "edn"
        first = s.split("\n", 1)[0]
        try:
            obj = json.loads(first)
        except ValueError:
            raise HistoryError("the first line is neither JSON nor an EDN op map" + give, 1) from None
        if isinstance(obj, dict) and "v" in obj:
            return "jsonl"
        if isinstance(obj, dict) and ("client" in obj or "input" in obj):
            return "porcupine"
        raise HistoryError("a JSON object with neither \"v\" (this project's schema) nor \"client\"/\"input\" "
                           "(Porcupine's operations)" + give, 1)
    raise HistoryError("the file starts with neither { nor [: not a history in a known format" + give, 1)


class HistorySource:
    """One history file.

    Args:
        path: the file (stdin spooled already).
        fmt: jsonl, edn or porcupine; None: sniffed.
        name: how to name the file in messages (`-` is `<stdin>`).

    Raises:
        HistoryError: the file cannot be read, or its format cannot be told.
    """

    def __init__(self, path: Path, fmt: str | None = None, name: str | None = None):
        self.path = path
        self.name = name or str(path)
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            raise _cannot(path, e) from None
        if fmt is not None and fmt not in FORMATS:
            raise HistoryError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        self.format = fmt or sniff(path)
        self.meta = schema.Meta()
        self.notes: list[str] = []
        self._failed: Bits | None = None
        self._ordered = True
        self._scanned = False
        self._asm: Assembler | None = None  # of the latest reading
        self._counts: edn.Counts | None = None

    # ---- reading ----------------------------------------------------------------------

    def _open(self) -> IO[bytes]:
        try:
            return open(self.path, "rb")
        except OSError as e:
            raise _cannot(self.path, e) from None

    def _op_records(self, fh: IO[bytes]) -> Iterator[Any]:
        if self.format == "jsonl":
            return schema.read_lines(numbered(fh))
        self._counts = edn.Counts()
        return edn.read_lines(numbered(fh), self._counts)

    def _porcupine_ops(self, fh: IO[bytes]) -> Iterator[porcupine.Op]:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
        try:
            head = text.read(1)
            while head and head.isspace():
                head = text.read(1)
        except UnicodeDecodeError:
            raise HistoryError("not UTF-8 text") from None
        text.seek(0)
        try:
            yield from porcupine.read_ops(text, "[" if head == "[" else "")
        except UnicodeDecodeError:
            raise HistoryError("not UTF-8 text") from None

    def scan(self) -> None:
        """The first reading: what the second needs to know in advance. The meta line; the
        invocations whose write definitely failed (read through only if the file has a
        definite failure at all); whether Porcupine's operations come in call order."""
        with self._open() as fh:
            if self.format == "porcupine":
                self._ordered, _ = porcupine.in_call_order(self._porcupine_ops(fh))
                if not self._ordered:
                    self.notes.append("the operations are not in order of call time: sorted in memory")
            else:
                if self.format == "jsonl":
                    self._read_meta(fh)
                    fh.seek(0)
                if _contains(fh, b'"fail"' if self.format == "jsonl" else b":fail"):
                    fh.seek(0)
                    asm = Assembler(None, "process")
                    for r in self._op_records(fh):
                        if isinstance(r, OpLine):
                            for _ in asm.feed(r):
                                pass
                    self._failed = asm.found
        self._scanned = True

    def _read_meta(self, fh: IO[bytes]) -> None:
        for n, raw in numbered(fh):
            obj = schema.parse_line(raw, n)
            if obj is None:
                continue
            if obj.get("type") == "meta":
                self.meta = schema.meta_of(obj, n)
            return

    def summary(self) -> list[str]:
        """Notes on what the reading did (as far as the file was read): definitely failed
        operations left out, nemesis ops skipped, operations sorted."""
        notes = list(self.notes)
        left_out = self._asm.left_out if self._asm is not None else 0
        nemesis = self._counts.nemesis if self._counts is not None else 0
        if left_out:
            notes.append(f"{left_out} operation{'s' if left_out > 1 else ''} that definitely failed "
                         "(fail: not applied) left out")
        if nemesis:
            notes.append(f"{nemesis} nemesis op{'s' if nemesis > 1 else ''} skipped "
                         "(Jepsen's own faults: not register operations)")
        return notes

    @property
    def cas(self) -> int:
        """cas operations read and not left out (applied or indeterminate: each split in two)."""
        return self._asm.cas if self._asm is not None else 0

    def items(self) -> Iterator[tuple[int, int, Event]]:
        """(line, unit, event) of the whole history, in order (see the module docstring)."""
        if not self._scanned:
            self.scan()
        last = float("-inf")
        last_line = 0
        for line, unit, e in self._items():
            if e.time < last:
                raise HistoryError(f"time goes backwards: {e.time:g} s after {last:g} s on line {last_line} "
                                   "(the events must be in the order they happened; equal times are allowed)", line)
            last, last_line = e.time, line
            yield line, unit, e

    def _items(self) -> Iterator[tuple[int, int, Event]]:
        with self._open() as fh:
            if self.format == "porcupine":
                ops: Any = self._porcupine_ops(fh)
                if not self._ordered:
                    ops = sorted(ops, key=lambda o: (o.call, o.line))
                yield from porcupine.events(ops)
                return
            asm = self._asm = Assembler(self._failed, "process")
            for r in self._op_records(fh):
                if isinstance(r, OpLine):
                    yield from asm.feed(r)
                elif isinstance(r, tuple):
                    yield r[0], r[0], r[1]

    def line_text(self, n: int, limit: int = 200) -> str:
        """Line `n` of the file as it is written (cut at `limit` characters)."""
        with self._open() as fh:
            for i, raw in enumerate(fh, 1):
                if i == n:
                    s = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    return s if len(s) <= limit else s[: limit - 1] + "…"
        return ""
