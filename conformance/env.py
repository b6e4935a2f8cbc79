"""The environment a subject receives, and the machinery behind it: a virtual clock,
background workers the harness runs only when it chooses, application instances that
can crash, and the step hook every store call passes through (`Environment.step`).

Running the subject's calls (timeouts, the watchdog) is `conformance.calls`'s.

Determinism: client operations and workers never run at the same time in sequential
checks. A worker runs only when the harness hands it the turn (its virtual wake-up time
has come) and gives the turn back when it sleeps again or returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conformance.calls import Hung, context
from conformance.errors import Crashed, HarnessSignal
from conformance.failures import Failure, classify
from conformance.faults import FaultState, FaultyCache, FaultyDB, FaultyQueues
from conformance.scheduler import Blocked, GreenTask, SchedLock, Scheduler, Task, current_task, set_current_task, start_thread

if TYPE_CHECKING:
    from conformance.calls import Watchdog

__all__ = ["VirtualClock", "Workers", "Instance", "Environment"]


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
            set_current_task(task)
            context.instance = instance
            try:
                task.wait_first_turn()
                if instance.crashed:
                    raise Crashed()
                fn()
            except Crashed:
                pass
            except BaseException as e:  # noqa: BLE001 - judged here
                if not isinstance(e, HarnessSignal) and classify(e) is Failure.STORE:
                    # A store fault ended the worker: the contract judges the consequences.
                    self.errors.append((task.name, e))
                else:
                    task.error = e  # reported as a subject error when the harness next runs workers
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
        self.cache = FaultyCache(raw_cache, self.faults, self.step)
        self.db = FaultyDB(raw_db, self.faults, self.step)
        self.queues = FaultyQueues(raw_queues, self.faults, self.step)
        self.extras = dict(extras or {})
        self.backend_name = backend_name
        # Store steps, (position in the history, lane, store, call, key): the ticks of the
        # timeline. `position` is set by the run (how many events were observed so far).
        self.trace: list[tuple[int, str, str, str, str | None]] = []
        self.position: Callable[[], int] = lambda: 0

    def step(self, store: str, call: str, key: str | None = None) -> None:
        """The step hook: a subject's call on shared state is about to happen.

        Every interceptor between a subject and what the harness controls calls it first,
        before the call takes effect and before any fault is raised: the fault layer over
        the stores (`conformance.faults`), a backend's interceptor of its raw clients
        (`RedisBackend.bind`), and whatever intercepts a subject's own clients or
        threading primitives later. One hook, so each of them is a step the same way.

        In this order, because each depends on the one before:

        1. the step is counted (`steps`);
        2. in a concurrent batch, the calling task pauses here until the scheduler gives
           it the turn: the call happens at the moment the strategy chose, and a replay of
           the same choices makes the same calls;
        3. the step joins the trace, (history position, lane, store, call, key): the
           timeline's ticks, on the lane of the task or client making it;
        4. a thread of a crashed instance unwinds (raises `Crashed`): nothing a dead
           application does reaches a store.

        Args:
            store: what is called: "cache", "db", "queue", "redis", or another resource.
            call: the operation: "get", "put", an uppercase Redis command...
            key: the key the call touches, when there is one.

        Raises:
            Crashed: the calling thread belongs to a crashed instance.
        """
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
            lane = context.client
        if lane is not None:
            self.trace.append((self.position(), lane, store, call, key))
        inst = context.instance
        if inst is not None and inst.crashed:
            raise Crashed()

    def instance(self, index: int) -> Instance:
        return Instance(index, self)
