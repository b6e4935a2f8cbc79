"""The conversation with one subject process: the handshake, sessions (one per `reset`),
tasks, and routing each incoming message to the task it belongs to.

Who reads the pipe: the thread that waits for a message reads it itself. The harness
hands the turn to one task at a time (a client operation, a worker), and only the task
holding the turn waits for the subject, so nearly always the line read is that task's
own and no thread hand-off is needed (a reader thread would cost two wake-ups per store
request). A message for another task is queued for it; if a second thread waits while
one reads (an abandoned call), it waits for the reader to pass its messages on.

Determinism: between two messages the harness sends, the subject runs alone, so a
deterministic subject's every message is a function of what it was sent since its reset.
Each link folds the conversation into a fingerprint; `Transcripts` remembers, for every
fingerprint, what the subject said next. The same conversation answered differently is
nondeterminism the harness cannot schedule: the check ends UNKNOWN naming both messages.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from conformance.errors import Inconclusive
from conformance.exec.process import SubjectProcess, start_limit_message
from conformance.exec.wire import (
    PROTOCOL_VERSION,
    Capabilities,
    ExecStartError,
    ProtocolError,
    decode,
    encode,
    raise_failure,
    shown,
)

__all__ = ["Link", "Transcripts", "Server"]


class Server:
    """What serves a task's store requests (proxy.EnvServer): answer(link, task, message)."""

    def answer(self, link: "Link", task: str, msg: dict[str, Any]) -> None:  # pragma: no cover - protocol
        raise NotImplementedError


def freeze_args(args: Any) -> Any:
    """A request's arguments as something hashable (fast for flat objects)."""
    if type(args) is dict:
        items = tuple(sorted(args.items()))
        try:
            hash(items)
            return items
        except TypeError:
            pass
    return freeze(args)


def freeze(value: Any) -> Any:
    """A JSON value as something hashable (objects with sorted keys)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return repr(value)


class Transcripts:
    """What a subject said after each conversation seen so far (by fingerprint), shared by
    every process of one command. Bounded: past `limit` conversations it stops learning
    (and says so, in `full`), never guesses."""

    def __init__(self, limit: int = 2_000_000):
        self.seen: dict[int, tuple[Any, ...]] = {}
        self.limit = limit
        self.full = False

    def check(self, fingerprint: int, said: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """What the subject said after this conversation before, if that differs from `said`."""
        before = self.seen.get(fingerprint)
        if before is None:
            if len(self.seen) < self.limit:
                self.seen[fingerprint] = said
            else:
                self.full = True
            return None
        return None if before == said else before


def describe(canon: tuple[Any, ...]) -> str:
    """A fingerprinted message, for people."""
    kind = canon[0]
    if kind == "call":
        args = ", ".join(f"{k}={v!r}" for k, v in canon[3]) if isinstance(canon[3], tuple) else ""
        return f"request {canon[2]}({args}) from task {canon[1]}"
    if kind in ("done", "failed", "exit"):
        return f"{kind} {', '.join(repr(x) for x in canon[2:])} for task {canon[1]}"
    if kind == "op":
        return f"operation {canon[2]}({', '.join(repr(x) for x in canon[3:] if x is not None)}) as task {canon[1]}"
    if kind == "reset":
        return f"reset of instance {canon[1]} (incarnation {canon[2]})"
    if kind == "result":
        return f"answer {canon[2]!r} to message {canon[1]}"
    if kind == "error":
        return f"error answer {canon[2]!r} to message {canon[1]}"
    if kind == "start":
        return f"start of worker task {canon[1]}"
    return repr(canon)


class Link:
    """The protocol spoken with one `SubjectProcess`.

    Args:
        proc: the started process.
        transcripts: the determinism oracle shared by the command's processes.
        trace: called with ('>' or '<', line) for every line sent or read (debugging, docs).
    """

    def __init__(self, proc: SubjectProcess, transcripts: Transcripts,
                 trace: Callable[[str, bytes], None] | None = None):
        self.proc = proc
        self.caps: Capabilities | None = None
        self._transcripts = transcripts
        self._trace = trace
        self._send_lock = threading.Lock()
        self._cv = threading.Condition(threading.Lock())
        self._reading = False
        self._inbox: dict[str, deque[dict[str, Any]]] = {}  # live tasks
        self._ops: dict[int, str] = {}  # outstanding operation id -> its task
        self._next = 1  # numbers of tasks and operations, never reused by one process
        self._base = 1  # the first number of this session: anything older is stale
        self.broken: BaseException | None = None
        self._fingerprint = 0
        self._said: deque[tuple[Any, ...]] = deque(maxlen=3)  # the last messages, for messages
        self._count = 0  # messages in this session
        self._calls: dict[Any, int] = {}  # unanswered request id -> its message's place in the session
        # What it cost (benchmarks/exec_subject.py): operations answered, store requests
        # served, and wall seconds inside operations (requests included).
        self.operations = 0
        self.requests = 0
        self.seconds = 0.0

    # ---- start -----------------------------------------------------------------------------

    def handshake(self, deadline: float, seconds: float) -> Capabilities:
        """Read the subject's hello.

        Raises:
            ExecStartError: no hello in time, a process that exits first, or a bad hello.
        """
        try:
            line = self.proc.read_line(deadline)
        except TimeoutError:
            raise ExecStartError(start_limit_message(self.proc.argv, seconds)) from None
        except ProtocolError as e:
            raise ExecStartError(f"{' '.join(self.proc.argv)!r}: {e}") from None
        if line is None:
            raise ExecStartError(f"{' '.join(self.proc.argv)!r}: {self.proc.exit_message('before its hello')}")
        if self._trace is not None:
            self._trace("<", line)
        try:
            msg = decode(line)
            if msg["type"] != "hello":
                raise ProtocolError(f"the first message must be a hello, got {shown(msg)}")
            version = msg.get("protocol")
            if version != PROTOCOL_VERSION:
                raise ProtocolError(f"the subject speaks protocol version {shown(version)}; this harness "
                                    f"speaks {PROTOCOL_VERSION}")
            self.caps = Capabilities(msg)
        except ProtocolError as e:
            raise ExecStartError(f"{' '.join(self.proc.argv)!r} failed the handshake: {e}") from None
        return self.caps

    # ---- sending ---------------------------------------------------------------------------

    def _send(self, msg: dict[str, Any], canon: tuple[Any, ...] | None) -> None:
        data = encode(msg)
        with self._send_lock:
            if canon is not None:
                # Noted before it is written: the subject's answer cannot come first.
                with self._cv:
                    self._note(canon)
            if self._trace is not None:
                self._trace(">", data[:-1])
            self.proc.send(data)

    def _note(self, canon: tuple[Any, ...]) -> None:
        self._fingerprint = hash((self._fingerprint, canon))
        self._said.append(canon)
        self._count += 1

    # An answer is fingerprinted with the request it answers (its place in the session):
    # two schedules that answer different requests with the same value are different
    # conversations.
    def reply(self, call_id: Any, value: Any) -> None:
        self._send({"type": "result", "id": call_id, "value": value},
                   ("result", self._calls.pop(call_id, None), freeze(value)))

    def reply_error(self, call_id: Any, kind: str, message: str) -> None:
        self._send({"type": "error", "id": call_id, "error": kind, "message": message},
                   ("error", self._calls.pop(call_id, None), kind))

    # ---- tasks -----------------------------------------------------------------------------

    def new_task(self) -> str:
        """A fresh task name (for a worker the subject spawns)."""
        with self._cv:
            return self._new_task()

    def _new_task(self) -> str:
        n = self._next
        self._next += 1
        name = f"t{n}"
        self._inbox[name] = deque()
        return name

    def _rel(self, task: Any) -> Any:
        # Task numbers relative to the session, so two sessions' conversations compare.
        try:
            return int(task[1:]) - self._base if task[0] == "t" else task
        except (TypeError, ValueError, IndexError, KeyError):
            return task

    def reusable(self) -> bool:
        """Can a `reset` start the next example here (no operation is left unanswered)?"""
        return self.broken is None and not self._ops and self.proc.alive()

    def idle(self) -> bool:
        """Reusable, and no task of the subject's is live either (no worker a harness
        thread may still be serving): a crash may then be a reset in place."""
        with self._cv:
            return self.reusable() and not self._inbox

    # ---- receiving -------------------------------------------------------------------------

    def receive(self, task: str) -> dict[str, Any]:
        """The next message for `task` (see the module docstring for who reads).

        Raises:
            ProtocolError: the subject broke the protocol (here or for another task).
            Inconclusive: the subject answered a conversation seen before differently.
        """
        cv = self._cv
        with cv:
            while True:
                box = self._inbox.get(task)
                if box:
                    return box.popleft()
                if self.broken is not None:
                    raise self.broken
                if not self._reading:
                    self._reading = True
                    break
                cv.wait(1.0)
        try:
            while True:
                msg = self._read()
                with cv:
                    dest = self._route(msg)
                    if dest == task:
                        return msg
                    if dest is not None:
                        self._inbox[dest].append(msg)
                        cv.notify_all()
        except BaseException as e:
            with cv:
                if self.broken is None and isinstance(e, (ProtocolError, _Diverged)):
                    self.broken = e.args[0] if isinstance(e, _Diverged) else e
                cv.notify_all()
            if isinstance(e, _Diverged):
                raise e.args[0] from None
            raise
        finally:
            with cv:
                self._reading = False
                cv.notify_all()

    def _read(self) -> dict[str, Any]:
        line = self.proc.read_line()
        if line is None:
            raise ProtocolError(self.proc.exit_message(self._doing()))
        if self._trace is not None:
            self._trace("<", line)
        return decode(line)

    def _doing(self) -> str:
        if self._said:
            return f"after {describe(self._said[-1])}"
        return "between operations"

    def _route(self, msg: dict[str, Any]) -> str | None:
        """The task `msg` is for, or None for a message of an earlier session (dropped).
        Called under the lock; notes the message in the fingerprint."""
        kind = msg["type"]
        if kind == "call":
            task = msg.get("task")
            if "id" not in msg:
                raise ProtocolError(f"the subject sent a request without an id: {shown(msg)}")
            canon: tuple[Any, ...] = ("call", self._rel(task), msg.get("target"), freeze_args(msg.get("args")))
            try:
                self._calls[msg["id"]] = self._count
            except TypeError:
                raise ProtocolError(f"a request id must be a number or a string, got {shown(msg['id'])}") from None
        elif kind in ("done", "failed"):
            op = msg.get("id")
            task = self._ops.get(op) if isinstance(op, int) else None
            if task is None:
                if isinstance(op, int) and 0 < op < self._base:
                    return None  # an answer from before the last reset
                raise ProtocolError(
                    f"the subject answered operation {shown(op)}, which is not outstanding"
                    f" (outstanding: {', '.join(str(i) for i in sorted(self._ops)) or 'none'})")
            del self._ops[op]
            if kind == "done":
                canon = ("done", self._rel(task), freeze(msg.get("value")))
            else:
                canon = ("failed", self._rel(task), msg.get("error"), msg.get("exception"))
        elif kind == "exit":
            task = msg.get("task")
            canon = ("exit", self._rel(task), msg.get("error"))
        elif kind == "hello":
            raise ProtocolError("the subject sent a second hello")
        else:
            raise ProtocolError(f"the subject sent a message of unknown type {shown(kind)} "
                                "(known: call, done, failed, exit)")
        if task not in self._inbox:
            rel = self._rel(task)
            if isinstance(rel, int) and rel < 0 and int(task[1:]) > 0:
                return None  # a task of an earlier session
            if isinstance(rel, int) and 0 <= rel < self._next - self._base:
                raise ProtocolError(f"the subject sent a {kind} for task {task!r}, which has already ended")
            raise ProtocolError(f"the subject sent a {kind} for task {shown(task)}, which the harness never started")
        before = self._transcripts.check(self._fingerprint, canon)
        if before is not None:
            raise _Diverged(Inconclusive(
                f"the subject is nondeterministic: after the same {self._count} messages since its reset"
                f"{f' (the last: {describe(self._said[-1])})' if self._said else ''}, it sent "
                f"{describe(canon)}, where it once sent {describe(before)}; what it does depends on "
                "something outside the protocol (its own threads or timers, real time, random numbers, "
                "map order), which the harness cannot schedule (docs/PROTOCOL.md, Determinism)"))
        self._note(canon)
        return task

    # ---- operations ------------------------------------------------------------------------

    def operate(self, server: Server, op: str, fields: dict[str, Any]) -> Any:
        """Send operation `op` and serve the subject's store requests until it answers;
        return its value, or raise what it reports.

        Raises:
            StoreUnavailable, StoreTimeout: the subject let a store failure escape.
            RemoteError: the subject failed with an exception of its own.
            ProtocolError: the subject broke the protocol.
        """
        with self._cv:
            if self.broken is not None:
                raise self.broken
            task = self._new_task()
            n = int(task[1:])
            self._ops[n] = task
            if op == "reset":
                # A new session: everything before it is stale, the fingerprint starts afresh.
                for t in [t for t in self._inbox if t != task]:
                    del self._inbox[t]
                for i in [i for i in self._ops if i != n]:
                    del self._ops[i]
                self._base = n
                self._fingerprint = 0
                self._count = 0
                self._said.clear()
                self._calls.clear()
                canon: tuple[Any, ...] = ("reset", fields.get("instance"), fields.get("incarnation"))
            else:
                canon = ("op", n - self._base, op, fields.get("key"), fields.get("value"))
        started = time.perf_counter()
        self.operations += 1
        try:
            self._send({"type": "op", "id": n, "task": task, "op": op, **fields}, canon)
            msg = self._serve(server, task)
            kind = msg["type"]
            if kind == "done":
                self._end(task)
                return msg.get("value")
            if kind == "failed":
                self._end(task)
                raise_failure(msg.get("error"), msg.get("message"), msg.get("exception"))
            raise ProtocolError(f"the subject sent {kind!r} for task {task}, which runs an operation, "
                                "not a worker")
        finally:
            self.seconds += time.perf_counter() - started

    def run_worker(self, server: Server, task: str) -> None:
        """Start worker `task` in the subject and serve its requests until it exits."""
        self._send({"type": "start", "task": task}, ("start", self._rel(task)))
        msg = self._serve(server, task)
        if msg["type"] != "exit":
            raise ProtocolError(f"the subject sent {msg['type']!r} for worker task {task}")
        self._end(task)
        if msg.get("error") is not None:
            raise_failure(msg.get("error"), msg.get("message"), msg.get("exception"))

    def _serve(self, server: Server, task: str) -> dict[str, Any]:
        """Answer `task`'s store requests, each on this thread (a scheduler step), until it
        sends anything else; that message."""
        while True:
            msg = self.receive(task)
            if msg["type"] != "call":
                return msg
            self.requests += 1
            server.answer(self, task, msg)

    def _end(self, task: str) -> None:
        with self._cv:
            self._inbox.pop(task, None)

    def kill(self, *, scan: bool = False) -> None:
        with self._cv:
            if self.broken is None:
                self.broken = ProtocolError("the subject process was killed by the harness "
                                            "(a crash, a restart, or the end of the check)")
            self.proc.kill(scan=scan)
            self._cv.notify_all()

    def __repr__(self) -> str:
        return f"<Link {self.proc!r} session t{self._base}>"


class _Diverged(Exception):
    """Carries an Inconclusive (a BaseException) out of the routing code."""
