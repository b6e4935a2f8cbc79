"""`exec_factory(command)`: a factory whose subjects are processes speaking the subject
protocol (docs/PROTOCOL.md).

Processes and examples: one process per application instance, reused from example to
example (`reset` builds a fresh subject in it), and restarted only when the harness
crashes the application, when the previous example left an operation unanswered, or when
the process broke the protocol. Which of these a factory call is, is told by the stores:
the harness calls `factory(env)` again with the *same* stores only to recover from a crash.

Starting is kept out of the per-operation timeout: the first process starts (and says
hello) when the factory is made, with its own generous limit, and a spare process is
always starting in the background, so that a crash swaps one in instead of waiting for a
JVM to boot. No process outlives `close()` (called by the CLI after the check, and at
interpreter exit for every factory still open).
"""

from __future__ import annotations

import atexit
import os
import shlex
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from conformance.errors import UsageError
from conformance.exec.link import Link, Transcripts
from conformance.exec.process import SubjectProcess, kill_escaped
from conformance.exec.proxy import EnvServer, ExecSubject
from conformance.exec.wire import ExecStartError

__all__ = ["ExecFactory", "exec_factory", "load_exec_target", "close_all", "EXEC_PREFIX", "DEFAULT_START_TIMEOUT"]

EXEC_PREFIX = "exec:"
# Seconds a process may take from its start to its hello (a cold JVM on a loaded machine).
DEFAULT_START_TIMEOUT = 60.0


class _Slot:
    """The process serving one application instance, and the stores it serves."""

    __slots__ = ("link", "stores", "incarnation")

    def __init__(self, link: Link, stores: Any, incarnation: int):
        self.link, self.stores, self.incarnation = link, stores, incarnation


class ExecFactory:
    """`factory(env) -> subject` for a subject process started with `command`.

    Example::

        with exec_factory("node clients/node/examples/write_through.js") as factory:
            report = conformance.run_check(factory, policy="write-through")

    Args:
        command: a shell-like command line (split with shlex, not run by a shell), or argv.
        cwd, env: the process's working directory and environment (default: the harness's).
        start_timeout: seconds from a start to the hello (outside any operation's timeout).
        spares: processes kept started ahead of need, so that a crash swaps one in instead
            of waiting for a start (at least one per application instance). The fault model
            crashes about once an example and a runtime may take 100 ms of CPU to start, so
            the default keeps 4 (measured: half the wait of 2, on two loaded cores). 0: none.
        stderr_limit: bytes of each process's stderr kept for reports.
        transcript: a text stream that receives every line exchanged ('> ' to the subject,
            '< ' from it), for debugging.
        kill_on_crash: kill the process on every crash, even if the subject declares
            `crash_by_reset` (for a subject whose declaration you doubt, and to measure).

    Raises:
        ExecStartError: (a UsageError) the command cannot start or fails the handshake.
    """

    def __init__(self, command: str | Sequence[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
                 start_timeout: float = DEFAULT_START_TIMEOUT, spares: int = 4, stderr_limit: int = 64 * 1024,
                 transcript: TextIO | None = None, kill_on_crash: bool = False):
        if isinstance(command, str):
            try:
                argv = shlex.split(command)
            except ValueError as e:
                raise UsageError(f"cannot parse the command {command!r}: {e}") from None
            self.command = command
        else:
            argv = [str(a) for a in command]
            self.command = shlex.join(argv)
        if not argv:
            raise UsageError("an exec target needs a command, e.g. exec:node my_cache.js")
        if not start_timeout > 0:
            raise UsageError(f"the start timeout must be a positive number of seconds, got {start_timeout}")
        self.argv = argv
        self.cwd, self.env = cwd, env
        self.start_timeout = float(start_timeout)
        # What a factory call may take (read by the harness instead of the operation's
        # timeout): waiting for a process to start, then its first reset, which loads the
        # subject's code (a JVM's class loading), given as long again.
        self.build_timeout = 2 * self.start_timeout
        self.spares = max(0, int(spares))
        self.stderr_limit = stderr_limit
        self.kill_on_crash = kill_on_crash
        self._trace = _tracer(transcript) if transcript is not None else None
        self.transcripts = Transcripts()
        self._cv = threading.Condition()
        self._slots: dict[int, _Slot] = {}
        self._ready: list[Link] = []
        self._starting = 0
        self._start_error: ExecStartError | None = None
        self._links: list[Link] = []  # every link started, for close()
        self.starts = 0  # processes started (a measure of crash recoveries)
        self.crash_resets = 0  # crashes recovered by a reset in place (crash_by_reset)
        self.waited = 0.0  # seconds factory calls waited for a started process
        self.closed = False
        first = self._start()
        self.caps = first.caps  # what the command's subject declares (every process alike)
        self._ready.append(first)
        _open.add(self)
        self._finalizer = weakref.finalize(self, _kill_all, self._links)

    # ---- the factory ---------------------------------------------------------------------

    def __call__(self, env: Any) -> ExecSubject:
        """A subject in a process for `env`'s application instance (see the module docstring)."""
        if self.closed:
            raise ExecStartError(f"the exec factory for {self.command!r} was closed")
        instance = getattr(env, "instance", 0)
        instance = instance if isinstance(instance, int) else 0
        stores = env.cache
        with self._cv:
            slot = self._slots.pop(instance, None)
        link: Link | None = None
        incarnation = 0
        if slot is not None:
            if slot.stores is stores:
                # Recovery from a crash: the application's process dies with it, unless
                # the subject declared that a reset loses all it has (crash_by_reset) and
                # nothing of it is running: then, as for a Python subject, the crash
                # drops the subject and the reset builds a new one, in the same process.
                incarnation = slot.incarnation + 1
                caps = slot.link.caps
                if caps is not None and caps.crash_by_reset and not self.kill_on_crash and slot.link.idle():
                    link = slot.link
                    self.crash_resets += 1
                else:
                    slot.link.kill()
            elif slot.link.reusable():
                link = slot.link
            else:
                slot.link.kill()
        if link is None:
            waiting = time.perf_counter()
            link = self._take()
            self.waited += time.perf_counter() - waiting
        with self._cv:
            self._slots[instance] = _Slot(link, stores, incarnation)
        server = EnvServer(env, link)
        try:
            link.operate(server, "reset", {"instance": instance, "incarnation": incarnation})
        finally:
            # Spares start after the reset, not beside it: a process's first reset loads
            # the subject's code (a JVM's class loading and first compiles), and on two
            # cores four runtimes booting at that moment are what pushes it past the
            # operation's timeout.
            self._want_spares()
        return ExecSubject(link, server, self.command)

    # ---- processes -------------------------------------------------------------------------

    def _start(self) -> Link:
        proc = SubjectProcess(self.argv, cwd=self.cwd, env=self.env, stderr_limit=self.stderr_limit)
        link = Link(proc, self.transcripts, self._trace)
        with self._cv:
            self._links.append(link)
            self.starts += 1
        try:
            link.handshake(time.monotonic() + self.start_timeout, self.start_timeout)
        except BaseException:
            link.kill(scan=True)
            raise
        return link

    def _take(self) -> Link:
        """A started process: a spare if one is ready, else the one starting, else a new one."""
        with self._cv:
            deadline = time.monotonic() + self.start_timeout
            while not self._ready and self._starting and time.monotonic() < deadline:
                self._cv.wait(0.05)
            if self._ready:
                return self._ready.pop(0)
            if self._start_error is not None:
                err, self._start_error = self._start_error, None
                raise err
        return self._start()

    def _want_spares(self) -> None:
        with self._cv:
            spares = self.spares
            if self.caps is not None and self.caps.crash_by_reset and not self.kill_on_crash:
                spares = min(spares, 1)  # crashes reset in place; a spare only for one mid-operation
            want = max(spares, len(self._slots)) if spares else 0
            while not self.closed and len(self._ready) + self._starting < want:
                self._starting += 1
                threading.Thread(target=self._start_spare, name="subject-spare", daemon=True).start()

    def _start_spare(self) -> None:
        try:
            link: Link | None = self._start()
            error = None
        except ExecStartError as e:
            link, error = None, e
        except BaseException as e:  # noqa: BLE001 - reported to the next taker
            link, error = None, ExecStartError(f"cannot start {self.command!r}: {type(e).__name__}: {e}")
        with self._cv:
            self._starting -= 1
            if link is not None and self.closed:
                link.kill(scan=True)
            elif link is not None:
                self._ready.append(link)
            else:
                self._start_error = error
            self._cv.notify_all()

    # ---- reports and the end -------------------------------------------------------------------

    def stderr(self, instance: int = 0) -> str:
        """The kept tail of the stderr of the process serving `instance` (or '')."""
        slot = self._slots.get(instance)
        return slot.link.proc.stderr.text() if slot is not None else ""

    @property
    def processes(self) -> list[SubjectProcess]:
        """Every process this factory started, in order (killed ones too)."""
        with self._cv:
            return [link.proc for link in self._links]

    def stats(self) -> dict[str, float]:
        """What the processes cost so far: processes started, seconds waited for one,
        operations and store requests answered, wall seconds inside operations."""
        with self._cv:
            links = list(self._links)
        return {"starts": self.starts, "crash_resets": self.crash_resets, "waited": self.waited,
                "operations": sum(link.operations for link in links),
                "requests": sum(link.requests for link in links),
                "operation_seconds": sum(link.seconds for link in links)}

    def pids(self) -> list[int]:
        """The pids of the processes started and not yet killed."""
        return [p.pid for p in self.processes if not p.killed]

    def close(self) -> None:
        """Kill every process this factory started, and whatever they started (idempotent)."""
        with self._cv:
            self.closed = True
            links = list(self._links)
            self._slots.clear()
            self._ready.clear()
        _kill_all(links)
        _open.discard(self)

    def __enter__(self) -> "ExecFactory":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # The spec a target loader understands: reports print it in runnable `Run(...)` lines.
        return f"{EXEC_PREFIX}{self.command}"

    def _forget(self) -> None:
        # In a forked child: the processes are the parent's, never this copy's to use or kill.
        self._cv = threading.Condition()
        self._slots, self._ready, self._links, self._starting = {}, [], [], 0
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _kill_all, self._links)


def _kill_all(links: list[Link]) -> None:
    for link in links:
        link.kill()
    kill_escaped([link.proc.token for link in links])


def _tracer(stream: TextIO) -> Callable[[str, bytes], None]:
    lock = threading.Lock()

    def trace(direction: str, line: bytes) -> None:
        with lock:
            stream.write(f"{direction} {line.decode('utf-8', 'replace')}\n")
            stream.flush()

    return trace


_open: "weakref.WeakSet[ExecFactory]" = weakref.WeakSet()


@atexit.register
def close_all() -> None:
    """Close every exec factory still open (at interpreter exit, and for callers that made
    factories they cannot reach, such as the `Run('exec:...')` of a counterexample)."""
    for factory in list(_open):
        factory.close()


def _after_fork() -> None:
    for factory in list(_open):
        factory._forget()


os.register_at_fork(after_in_child=_after_fork)


def exec_factory(command: str | Sequence[str], **options: Any) -> ExecFactory:
    """The factory of a subject process started with `command` (see `ExecFactory`).

    Example::

        run_check(exec_factory("node clients/node/examples/write_through.js"), policy="write-through")

    Raises:
        ExecStartError: the command cannot start or fails the handshake (one line).
    """
    return ExecFactory(command, **options)


def load_exec_target(spec: str) -> tuple[ExecFactory, str]:
    """`exec:COMMAND` as (factory, label): what a target loader calls for that prefix.

    Raises:
        UsageError: not an exec target, or a command that cannot start.
    """
    if not spec.startswith(EXEC_PREFIX):
        raise UsageError(f"{spec!r} is not an exec target (exec:COMMAND)")
    factory = exec_factory(spec[len(EXEC_PREFIX):].strip())
    return factory, repr(factory)
