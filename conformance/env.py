"""The environment a subject receives, and the machinery behind it: a virtual clock,
background workers the harness runs only when it chooses, application instances that
can crash, and an operation runner with a per-operation timeout.

Determinism: client operations and workers never run at the same time in sequential
checks. A worker runs only when the harness hands it the turn (its virtual wake-up time
has come) and gives the turn back when it sleeps again or returns.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from conformance.errors import Crashed, HarnessSignal
from conformance.faults import FaultState, FaultyCache, FaultyDB, FaultyQueues
from conformance.scheduler import Blocked, GreenTask, SchedLock, Scheduler, Task, current_task, start_thread, thread_locals
from conformance.scheduler import _local as sched_local

__all__ = ["VirtualClock", "Hung", "Workers", "Instance", "Environment", "OpRunner", "Watchdog", "Abandoned", "Task"]


class _CallLocal(threading.local):
    # Defaults, so that asking where no call set them costs no AttributeError (see
    # scheduler._TaskLocal).
    instance: "Instance | None" = None
    client: str | None = None


_local = _CallLocal()
thread_locals.append(_local)


class Hung(HarnessSignal):
    """A subject operation or worker did not return or yield within its timeout."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class VirtualClock:
    """env.clock: virtual seconds. Only the harness moves it, except that a client
    operation that sleeps moves it by its own sleep (nothing else runs meanwhile)."""

    def __init__(self, workers: "Workers | None" = None, start: float = 0.0):
        self._now = start
        self.workers = workers
        self.on_advance: Callable[[float], None] | None = None

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"the clock cannot go back ({seconds!r} s)")
        self._now += seconds
        if self.on_advance is not None:
            self.on_advance(self._now)

    def sleep(self, seconds: float) -> None:
        task = current_task()
        if task is not None and task.kind == "worker" and self.workers is not None:
            self.workers.sleep(task, max(0.0, float(seconds)))
            return
        if task is not None and self.workers is not None and self.workers.scheduler.active:
            # A client sleeping inside a batch: the clock moves, and others may run meanwhile.
            self.advance(max(0.0, float(seconds)))
            task.pause()
            return
        self.advance(max(0.0, float(seconds)))


class Workers:
    """Background workers (env.spawn), which take turns with the harness: greenlets on the
    checking thread when a Watchdog watches it (every `run_check`), else daemon threads.

    Sequentially, a worker runs only in `run_due`, from one `env.clock.sleep` to the next.
    In a concurrent batch, the scheduler also stops it at every store call."""

    def __init__(self, clock: VirtualClock, scheduler: Scheduler):
        self.clock = clock
        self.scheduler = scheduler
        self.tasks: list[Task] = []
        self.errors: list[tuple[str, BaseException]] = []
        # When a Watchdog watches the thread that builds the subjects (run_check's checking
        # thread), workers spawned there run as greenlets on it (see GreenTask), and a
        # worker that never yields becomes on_hang(what), raised by the watching thread.
        self.watchdog: "Watchdog | None" = None
        self.on_hang: Callable[[str], BaseException] = Hung

    @property
    def timeout(self) -> float:
        return self.scheduler.timeout

    def _watch(self, deadline: float, what: str, switch: Callable[[], Any]) -> None:
        watchdog = self.watchdog
        assert watchdog is not None
        watchdog.during(deadline, lambda: self.on_hang(what), switch)

    def spawn(self, fn: Callable[[], Any], instance: "Instance") -> Task:
        def body() -> None:
            sched_local.task = task
            _local.instance = instance
            try:
                task.wait_first_turn()
                if instance.crashed:
                    raise Crashed()
                fn()
            except Crashed:
                pass
            except (ConnectionError, TimeoutError) as e:
                # A store fault ended the worker: the contract judges the consequences.
                self.errors.append((task.name, e))
            except BaseException as e:  # noqa: BLE001 - reported as a subject error
                task.error = e
            finally:
                task.end()

        name = f"worker{len(self.tasks)}@{instance.id}"
        green = self.watchdog is not None and self.watchdog.ident == threading.get_ident()
        task = GreenTask(name, instance, "worker", body, self._watch) if green else Task(name, instance, "worker")
        task.wake_at = self.clock.now()
        self.tasks.append(task)
        if not green:
            start_thread(body, name)
        return task

    def sleep(self, task: Task, seconds: float) -> None:
        task.wake_at = self.clock.now() + seconds
        task.pause()

    def _turn(self, task: Task) -> None:
        try:
            self.scheduler.turn(task)
        except Blocked as e:
            raise Hung(str(e)) from None

    def run_due(self) -> None:
        """Run every worker whose wake-up time has come, one at a time, until none is due."""
        for _ in range(10_000):
            due = [t for t in self.tasks if not t.done and t.wake_at <= self.clock.now()]
            if not due:
                return
            task = min(due, key=lambda t: t.wake_at)
            self._turn(task)
            if task.error is not None:
                err, task.error = task.error, None
                raise err
        raise Hung("background workers keep waking up without the clock moving (sleep(0) loop?)")

    def kill(self, instance: "Instance") -> None:
        """Unwind every worker of a crashed instance (they raise Crashed where they wait)."""
        for t in self.tasks:
            if t.instance is instance and not t.done:
                t.resume(self.timeout)
        self.tasks = [t for t in self.tasks if not t.done]


class Instance:
    """One application instance: the env its factory receives."""

    def __init__(self, index: int, environment: "Environment"):
        self.id = index
        self.crashed = False
        self.env = _InstanceEnv(self, environment)


class _InstanceEnv:
    """What `factory(env)` receives (docs/ENVIRONMENT.md)."""

    def __init__(self, instance: Instance, environment: "Environment"):
        self._instance = instance
        self._environment = environment
        self.cache = environment.cache
        self.db = environment.db
        self.clock = environment.clock
        self.durable_queue = environment.queues
        self.instance = instance.id
        for name, value in environment.extras.items():
            setattr(self, name, value)

    def spawn(self, fn: Callable[[], Any]) -> Any:
        return self._environment.workers.spawn(fn, self._instance)

    def lock(self) -> SchedLock:
        return SchedLock(self._environment.scheduler)

    def __repr__(self) -> str:
        return f"<env instance={self.instance} backend={self._environment.backend_name}>"


class Environment:
    """The stores, clock and workers one check owns; instances share them."""

    def __init__(self, raw_cache: Any, raw_db: Any, raw_queues: Callable[[str], Any], clock: VirtualClock,
                 op_timeout: float, extras: dict[str, Any] | None = None, backend_name: str = "memory"):
        self.raw_cache, self.raw_db, self.raw_queues = raw_cache, raw_db, raw_queues
        self.clock = clock
        self.faults = FaultState()
        self.steps = 0
        self.scheduler = Scheduler(op_timeout)
        self.workers = Workers(clock, self.scheduler)
        clock.workers = self.workers
        self.cache = FaultyCache(raw_cache, self.faults, self._step)
        self.db = FaultyDB(raw_db, self.faults, self._step)
        self.queues = FaultyQueues(raw_queues, self.faults, self._step)
        self.extras = dict(extras or {})
        self.backend_name = backend_name
        # Store steps, (position in the history, lane, store, call, key): the ticks of the
        # timeline. `position` is set by the run (how many events were observed so far).
        self.trace: list[tuple[int, str, str, str, str | None]] = []
        self.position: Callable[[], int] = lambda: 0

    def _step(self, store: str, name: str, key: str | None) -> None:
        self.steps += 1
        task = current_task()
        if task is not None:
            if self.scheduler.active:
                # A scheduling point: the store call happens when this task gets its turn.
                task.at_step = True
                try:
                    task.pause()
                finally:
                    task.at_step = False
            lane = task.name
        else:
            lane = _local.client
        if lane is not None:
            self.trace.append((self.position(), lane, store, name, key))
        inst = _local.instance
        if inst is not None and inst.crashed:
            raise Crashed()

    def instance(self, index: int) -> Instance:
        return Instance(index, self)


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
                _local.instance = instance
                _local.client = client
                try:
                    box.append((True, fn()))
                except BaseException as e:  # noqa: BLE001 - handed to the harness
                    box.append((False, e))
                done.set()

        threading.Thread(target=loop, name="subject-client", daemon=True).start()
        return jobs

    def call(self, fn: Callable[[], Any], instance: Instance | None, what: str, client: str | None = None,
             *, inline: bool = False, on_hang: Callable[[], BaseException] | None = None) -> Any:
        """fn() as `client` of `instance`. Raises Hung after the timeout, or, inline under a
        watchdog, has the watchdog raise `on_hang()` (default: Hung) in its thread."""
        watchdog = self.watchdog
        if inline and watchdog is not None and watchdog.ident == threading.get_ident():
            saved = _local.instance, _local.client
            _local.instance, _local.client = instance, client
            try:
                return watchdog.during(time.monotonic() + self.timeout,
                                       on_hang or (lambda: Hung(f"{what} did not return within {self.timeout:g} s")),
                                       fn)
            finally:
                _local.instance, _local.client = saved
        jobs = self._jobs
        if jobs is None:
            jobs = self._jobs = self._start()
        box: list[tuple[bool, Any]] = []
        done = threading.Event()
        jobs.put((fn, instance, box, done, client))
        if not done.wait(self.timeout):
            self._jobs = None  # abandon the stuck thread
            raise Hung(f"{what} did not return within {self.timeout:g} s")
        ok, value = box[0]
        if ok:
            return value
        raise value

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None
