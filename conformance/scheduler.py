"""The mechanism of a deterministic scheduler: managed tasks (threads or greenlets), the
turn handed between them, and `env.lock()`. Every store call of a client or a worker is a
step, and exactly one step happens at a time, chosen by a strategy.

Threads are real (subjects are ordinary blocking Python), but each managed thread waits
at every scheduling point (a store call, `env.clock.sleep`, `env.lock()`) until the
controller hands it the turn, so the interleaving is whatever the strategy chose and
nothing else: the same choices replay the same run.

Which task runs next is not decided here: the strategies (drawn by Hypothesis, PCT,
replayed, depth-first exhaustive) are `conformance.strategies`, and the loop that asks
them is the batch's (`conformance.batch`).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from conformance.errors import Crashed

__all__ = [
    "Task", "GreenTask", "Scheduler", "SchedLock", "Deadlock", "Blocked", "start_thread",
    "current_task", "set_current_task", "thread_locals",
]


class _TaskLocal(threading.local):
    # The default answers a thread without a task (the checking thread, on every store
    # call) without the AttributeError a missing thread-local raises and getattr catches.
    task: "Task | None" = None


_local = _TaskLocal()

# Thread-local stores that a pooled thread must forget between two tasks (env.py adds its
# own): a task's instance or client must never leak into the next task the thread runs.
thread_locals: list[threading.local] = [_local]


class _ThreadPool:
    """Daemon threads for managed tasks, reused. Starting a thread costs more here than a
    whole sequential step (0.1 to 1 ms), and a check starts one per worker per example and
    one per client per batch. A thread whose task never ends (a hung subject) simply never
    comes back; being a daemon, it cannot keep the process.

    A forked child (the report runs each check in one) inherits the idle count but not the
    threads: the pool starts afresh there, or a task would wait forever for a thread."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], None], str]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def start(self, fn: Callable[[], None], name: str) -> None:
        with self._lock:
            reuse = self._idle > 0
            if reuse:
                self._idle -= 1
        if reuse:
            self._jobs.put((fn, name))
        else:
            threading.Thread(target=self._serve, args=(fn, name), name=name, daemon=True).start()

    def _serve(self, fn: Callable[[], None], name: str) -> None:
        me = threading.current_thread()
        while True:
            me.name = name
            try:
                fn()
            except BaseException:  # noqa: BLE001 - task bodies report their own errors
                pass
            for local in thread_locals:
                local.__dict__.clear()
            me.name = "conformance-idle"
            with self._lock:
                self._idle += 1
            fn, name = self._jobs.get()


_pool = _ThreadPool()


def start_thread(fn: Callable[[], None], name: str) -> None:
    """Run `fn` on a (pooled) daemon thread."""
    _pool.start(fn, name)


def current_task() -> "Task | None":
    """The managed task the calling thread (or greenlet) runs, if any."""
    return _local.task


def set_current_task(task: "Task | None") -> None:
    """On a task's own thread, before it runs: the task every scheduling point there belongs to."""
    _local.task = task


class Deadlock(Exception):
    """Every unfinished task waits for a lock another one holds."""


class Blocked(Exception):
    """A task did not come back to a scheduling point in time: it blocks outside the
    harness (a threading.Lock, queue.Queue, real sleep, an endless loop...)."""


class Task:
    """A managed thread: a client running its operations, or a background worker."""

    def __init__(self, name: str, instance: Any, kind: str):
        self.name = name
        self.instance = instance
        self.kind = kind  # "client" or "worker"
        self.wake_at = 0.0
        # Two locks used as binary semaphores hand the turn back and forth (cheaper than
        # Events, whose every wait allocates a lock): the controller releases `_go` and
        # takes `_yield`; the task takes `_go` and releases `_yield`.
        self._go = threading.Lock()
        self._go.acquire()
        self._yield = threading.Lock()
        self._yield.acquire()
        self.done = False
        self.error: BaseException | None = None
        self.waiting_for: "SchedLock | None" = None
        self.at_step = False  # paused right before a store call (not at a lock or between ops)
        # client bookkeeping (conformance.batch): the controller records invocations and
        # completions; the client's thread leaves each operation's outcome here
        self.ops: list[Any] = []
        self.next_op = 0
        self.invoked = False
        self.outcome: Any = None

    def pause(self) -> None:
        """Give the turn back and wait for the next one (called on the task's own thread)."""
        if self.instance is not None and self.instance.crashed:
            # A dying thread never waits: code in its `finally` blocks must not block it.
            raise Crashed()
        self._yield.release()
        self._go.acquire()
        if self.instance is not None and self.instance.crashed:
            raise Crashed()

    def wait_first_turn(self) -> None:
        """On the task's own thread, before it runs anything."""
        self._go.acquire()

    def end(self) -> None:
        """On the task's own thread, when it is done: the controller's turn is over."""
        self.done = True
        self._yield.release()

    def resume(self, timeout: float) -> bool:
        """On the controller: let the task run to its next scheduling point; False if it
        did not get there within `timeout` seconds."""
        self._go.release()
        return self._yield.acquire(timeout=timeout)

    def release(self) -> None:
        """Let a paused task go without waiting for it (abandoning a run)."""
        try:
            self._go.release()
        except RuntimeError:
            pass  # it was not waiting

    def __repr__(self) -> str:
        return f"<Task {self.name}{' done' if self.done else ''}>"


def blocked_message(task: Task, timeout: float) -> str:
    """What a task that did not come back to a scheduling point in time was doing wrong."""
    return (f"{task.name} did not reach a store call, env.clock.sleep or env.lock() within "
            f"{timeout:g} s: it blocks outside the harness (threading.Lock, queue.Queue, "
            "time.sleep, a busy loop?); use env.lock() and env.clock.sleep")


class GreenTask(Task):
    """A background worker run as a greenlet on the thread that drives it (the checking
    thread), instead of on a thread of its own.

    Why: handing the turn to a thread and back costs two OS wake-ups; a sequential check
    hands it to every worker when it starts, at every wake-up and when it is killed
    (about 6% of a durable write-behind check's time went there). A greenlet switch is a
    few microseconds. Semantics are the same: the worker runs only between `resume` and
    its next `pause`, exactly as a thread task does.

    The thread-locals the harness keeps per task (the current task, the instance) are
    swapped in and out at each switch, since a greenlet shares its thread's. A greenlet
    cannot time out on its own: `watch(deadline, what, switch)` runs the switch under the
    check's Watchdog, which turns a worker that never yields by the deadline into a
    liveness failure raised in the watching thread (the checking thread, stuck in the
    worker, is abandoned like a hung call)."""

    def __init__(self, name: str, instance: Any, kind: str, body: Callable[[], None],
                 watch: Callable[[float, str, Callable[[], Any]], None]):
        super().__init__(name, instance, kind)
        self._body = body
        self._watch = watch
        self._green: Any = None
        self._thread = threading.get_ident()
        self._locals: list[dict[str, Any]] = [{} for _ in thread_locals]

    def pause(self) -> None:
        if self.instance is not None and self.instance.crashed:
            raise Crashed()
        self._green.parent.switch()
        if self.instance is not None and self.instance.crashed:
            raise Crashed()

    def wait_first_turn(self) -> None:
        pass  # a greenlet starts when it is first switched to

    def end(self) -> None:
        self.done = True  # the greenlet returns, and with it the turn

    def resume(self, timeout: float) -> bool:
        if self.done:
            return True
        if threading.get_ident() != self._thread or (
                self._green is None and self.instance is not None and self.instance.crashed):
            # Killed before it ever ran, or closed from another thread after the check
            # was abandoned (a greenlet cannot be entered from another thread): it is over.
            self.done = True
            return True
        if self._green is None:
            import greenlet

            self._green = greenlet.greenlet(self._body)
        mine = [dict(local.__dict__) for local in thread_locals]
        for local, saved in zip(thread_locals, self._locals):
            local.__dict__.clear()
            local.__dict__.update(saved)
        try:
            self._watch(time.monotonic() + timeout, blocked_message(self, timeout), self._green.switch)
        finally:
            self._locals = [dict(local.__dict__) for local in thread_locals]
            for local, saved in zip(thread_locals, mine):
                local.__dict__.clear()
                local.__dict__.update(saved)
        return True

    def release(self) -> None:
        pass  # never waits on another thread


class SchedLock:
    """env.lock(): a reentrant mutex that waits through the scheduler in a batch (so a
    waiting task is simply not runnable) and through a timed condition otherwise."""

    def __init__(self, scheduler: "Scheduler"):
        self._scheduler = scheduler
        self.owner: object | None = None
        self.count = 0
        # Subjects take env.lock() on most operations, so its uncontended path is kept
        # short: the mutex is taken directly (never reentrantly: nothing waits while it
        # is held but `wait`, which releases it), and a release notifies only when a
        # thread waits.
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._waiting = 0

    def _me(self) -> object:
        return current_task() or threading.current_thread()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        task = current_task()
        me = task or threading.current_thread()
        while True:
            with self._mutex:
                if self.owner is None or self.owner is me:
                    self.owner = me
                    self.count += 1
                    return True
                if not blocking:
                    return False
                if not (self._scheduler.active and task is not None):
                    self._waiting += 1
                    try:
                        released = self._cond.wait(self._scheduler.timeout)
                    finally:
                        self._waiting -= 1
                    if not released:
                        raise Blocked(f"env.lock() held by {self.owner!r} was not released within "
                                      f"{self._scheduler.timeout:g} s")
                    continue
            task.waiting_for = self  # type: ignore[union-attr]
            task.pause()  # type: ignore[union-attr]
            task.waiting_for = None  # type: ignore[union-attr]

    def release(self) -> None:
        me = self._me()
        with self._mutex:
            if self.owner is not me:
                raise RuntimeError("release of an env.lock() not held by this thread")
            self.count -= 1
            if self.count == 0:
                self.owner = None
                if self._waiting:
                    self._cond.notify_all()

    def free_for(self, task: Task) -> bool:
        return self.owner is None or self.owner is task

    def __enter__(self) -> "SchedLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Scheduler:
    """The controller: runs one step at a time of whichever managed task the strategy picks."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.active = False
        self.tick = 0  # counts turns; timestamps steps for the timeline

    def runnable(self, tasks: Sequence[Task], now: float) -> list[Task]:
        out = []
        for t in tasks:
            if t.done:
                continue
            if t.waiting_for is not None and not t.waiting_for.free_for(t):
                continue
            if t.kind == "worker" and t.wake_at > now:
                continue
            out.append(t)
        return out

    def turn(self, task: Task) -> None:
        """Let `task` run to its next scheduling point (or to its end)."""
        self.tick += 1
        if not task.resume(self.timeout):
            raise Blocked(blocked_message(task, self.timeout))

    @staticmethod
    def deadlock_message(tasks: Sequence[Task]) -> str:
        waits = [f"{t.name} waits for a lock held by {getattr(t.waiting_for.owner, 'name', t.waiting_for.owner)!s}"
                 for t in tasks if not t.done and t.waiting_for is not None]
        return "deadlock: " + "; ".join(waits)
