"""Running subject calls: on whose behalf a thread acts (the call context), with a
timeout (`OpRunner`), and inline on the checking thread under a `Watchdog`.

Apart from the environment because it is about *calls*, not stores: every path that
runs subject code (a sequential operation, building a subject, closing it, a worker run
as a greenlet) goes through here, and a hang anywhere ends as `Hung` or as the failure
the call registered, never as a hung harness.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from conformance.errors import HarnessSignal
from conformance.scheduler import thread_locals

__all__ = ["Crashable", "CallContext", "context", "Hung", "Watchdog", "Abandoned", "OpRunner"]


class Crashable(Protocol):
    """An application instance, as far as a call is concerned (conformance.env.Instance)."""

    crashed: bool


class CallContext(threading.local):
    """On whose behalf the current thread acts: the application instance (a crashed one's
    store calls unwind) and the client (the timeline's lane). Set by `OpRunner` for a call
    and by the harness for a task's thread.

    Class-level defaults, so that asking where no call set them costs no AttributeError
    (see scheduler._TaskLocal)."""

    instance: "Crashable | None" = None
    client: str | None = None


context = CallContext()
# A pooled thread forgets its last task's instance and client (scheduler.thread_locals).
thread_locals.append(context)


class Hung(HarnessSignal):
    """A subject operation or worker did not return or yield within its timeout."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class Watchdog:
    """Lets subject calls run inline on the checking thread and still time out.

    Handing every call to a client thread costs two thread wake-ups, which on a loaded
    machine is more than the rest of a step. So a check runs Hypothesis itself on a
    daemon thread, its subject calls inline, and the caller's thread watches: a call armed
    here that outlives its deadline turns into the failure the call registered, raised in
    the watching thread; the stuck checking thread is abandoned (a daemon, it cannot keep
    the process), and if the call ever returns it unwinds at once.

    Arming takes no lock: it is one attribute assignment, atomic under the GIL."""

    def __init__(self) -> None:
        # (deadline, failure) in one attribute, so the watcher never pairs one call's
        # deadline with another call's failure.
        self.armed: tuple[float, Callable[[], BaseException]] | None = None
        self.fired = False
        # The thread being watched: only its calls may run inline.
        self.ident: int | None = None

    def during(self, deadline: float, failure: Callable[[], BaseException], fn: Callable[[], Any]) -> Any:
        """fn() armed with (deadline, failure), the arming in force before restored after."""
        before = self.armed
        self.armed = (deadline, failure)
        try:
            return fn()
        finally:
            self.armed = before
            if self.fired:
                raise Abandoned("the check was abandoned after a hung call")

    def expired(self, now: float) -> BaseException | None:
        armed = self.armed
        if armed is None or now < armed[0]:
            return None
        self.fired = True
        return armed[1]()

    def run(self, fn: Callable[[], Any], poll: float = 0.05) -> Any:
        """fn() on a daemon thread, returning or raising what it does, unless an armed call
        hangs: then the failure that call registered is raised here."""
        box: list[tuple[bool, Any]] = []

        def body() -> None:
            self.ident = threading.get_ident()
            try:
                box.append((True, fn()))
            except BaseException as e:  # noqa: BLE001 - handed to the watching thread
                box.append((False, e))
            finally:
                self.ident = None

        thread = threading.Thread(target=body, name="conformance-check", daemon=True)
        thread.start()
        while True:
            thread.join(poll)
            if not thread.is_alive():
                break
            failure = self.expired(time.monotonic())
            if failure is not None:
                raise failure
        ok, value = box[0]
        if ok:
            return value
        raise value


class Abandoned(HarnessSignal):
    """Unwinds a checking thread whose hung call finally returned after the check ended."""


class OpRunner:
    """Runs subject calls on a daemon thread with a timeout, so a hanging subject cannot
    hang the harness (the thread is abandoned; being a daemon, it cannot keep the process).

    With a `watchdog`, calls made with `inline=True` run on the calling thread instead
    and the watchdog's thread enforces the timeout (see `Watchdog`)."""

    def __init__(self, timeout: float, watchdog: Watchdog | None = None):
        self.timeout = timeout
        self.watchdog = watchdog
        self._jobs: queue.SimpleQueue[Any] | None = None

    def _start(self) -> queue.SimpleQueue[Any]:
        jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def loop() -> None:
            while True:
                job = jobs.get()
                if job is None:
                    return
                fn, instance, box, done, client = job
                context.instance = instance
                context.client = client
                try:
                    box.append((True, fn()))
                except BaseException as e:  # noqa: BLE001 - handed to the harness
                    box.append((False, e))
                done.set()

        threading.Thread(target=loop, name="subject-client", daemon=True).start()
        return jobs

    def call(self, fn: Callable[[], Any], instance: Crashable | None, what: str, client: str | None = None,
             *, inline: bool = False, on_hang: Callable[[], BaseException] | None = None,
             timeout: float | None = None) -> Any:
        """fn() as `client` of `instance`. Raises Hung after the timeout (`timeout`, else the
        runner's), or, inline under a watchdog, has the watchdog raise `on_hang()` (default:
        Hung) in its thread."""
        limit = self.timeout if timeout is None else timeout
        watchdog = self.watchdog
        if inline and watchdog is not None and watchdog.ident == threading.get_ident():
            saved = context.instance, context.client
            context.instance, context.client = instance, client
            try:
                return watchdog.during(time.monotonic() + limit,
                                       on_hang or (lambda: Hung(f"{what} did not return within {limit:g} s")),
                                       fn)
            finally:
                context.instance, context.client = saved
        jobs = self._jobs
        if jobs is None:
            jobs = self._jobs = self._start()
        box: list[tuple[bool, Any]] = []
        done = threading.Event()
        jobs.put((fn, instance, box, done, client))
        if not done.wait(limit):
            self._jobs = None  # abandon the stuck thread
            raise Hung(f"{what} did not return within {limit:g} s")
        ok, value = box[0]
        if ok:
            return value
        raise value

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None
