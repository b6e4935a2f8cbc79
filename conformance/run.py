"""One check session: a subject built in a fresh environment, driven step by step, with
every observation recorded and fed to the policy's contract as it happens.

`Run` is also the vocabulary of counterexamples: a failing example is printed as the
`Run` calls that reproduce it (conformance.script), and those lines run as they are.

What a run is made of, each in its own module: the target and policy it checks
(conformance.target), the stores its backend opens (conformance.backend), the
environment over them (conformance.env), the recorder of what it observes
(conformance.recorder), and concurrent batches (conformance.batch), which drive it
through its public interface (`instance_for`, `subject_for`, `recover`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from model import (
    CacheEntry,
    CacheObserved,
    Contract,
    Crash,
    DbObserved,
    Fault,
    Monitor,
    Tick,
    Violation,
)
from model.policies import Policy
from model.scenario_format import CLOCK_ADVANCE
from model.vocabulary import DELETE, FLUSH, OPERATIONS, READ, REQUIRED_OPERATIONS, STORE_FAULTS, WRITE, WRITES

from conformance.backend import Backend, MemoryBackend, backend_expression
from conformance.batch import run_batch
from conformance.calls import Hung, OpRunner
from conformance.env import Environment, Instance, VirtualClock
from conformance.errors import (
    ContractViolation,
    HarnessSignal,
    Inconclusive,
    LivenessFailure,
    SubjectBuildError,
    UsageError,
)
from conformance.failures import place_of
from conformance.recorder import Operation, Raised, Recorder, Returned
from conformance.script import RunLine, step
from conformance.strategies import Chooser, ReplayChooser, StoreStepChooser, first_runnable
from conformance.target import Target, own_code, resolve_target

__all__ = ["Run", "ContractViolation", "LivenessFailure", "Inconclusive", "SubjectBuildError", "DEFAULT_KEYS"]

# Two keys: enough to show that keys are independent, few enough that a write, a fault and
# a read of the same key line up often.
DEFAULT_KEYS = ("k0", "k1")
DEFAULT_STALENESS = 300.0
_FAILED = object()
INITIAL_CACHE_TTL = 300.0
# The clause text when a background worker does not come back to the harness.
WORKERS_LIVE = "background workers sleep or return"


class Run:
    """A subject under check.

    Example::

        run = Run("implementations.memory:write_through", policy="write-through")
        run.write("k0", "v1")
        run.fault("db-down")
        run.read("k0")
        run.finish()

    Args:
        target: a factory, `module:factory` / `path/file.py:factory`, or a resolved
            `conformance.target.Target` (then `policy` may be omitted).
        policy: the policy name (aliases work) or a `Policy`.
        keys: the keys the check uses (DB observations cover them).
        op_timeout: seconds a subject call may take before it is judged hung.
        staleness: the bounded-staleness bound; default the subject's `fill_ttl`, else 300 s.
        backend: where the stores live (`conformance.backend.Backend`), default in-memory.
        initial: DB contents before the subject is built.
        initial_cache: cache entries before the subject is built (as from an earlier
            fill: they expire after INITIAL_CACHE_TTL seconds).
        instances: application instances (factory calls) sharing the cache and the DB;
            client `cN` talks to instance N mod instances.
        runner: the OpRunner that makes subject calls, shared by the runs of one check
            (`run_check` passes one with a Watchdog); default: the run's own.

    Raises:
        UsageError: an unknown policy, a target that cannot be imported, a bad option.
        SubjectBuildError: the factory raised or returned something without write/read.
        ContractViolation: from any step, when the contract cannot explain what happened.
    """

    def __init__(self, target: Target | str | Callable[..., Any], policy: str | Policy | None = None, *,
                 keys: tuple[str, ...] = DEFAULT_KEYS, op_timeout: float = 2.0, staleness: float | None = None,
                 backend: Backend | None = None, initial: dict[str, str] | None = None, instances: int = 1,
                 initial_cache: dict[str, str] | None = None, runner: OpRunner | None = None):
        if not op_timeout > 0:  # NaN too
            raise UsageError(f"the timeout of a subject call must be a positive number of "
                             f"seconds, got {op_timeout}")
        self.target = resolve_target(target, policy)
        self.factory, self.label, self.policy = self.target.factory, self.target.label, self.target.policy
        self.keys = tuple(keys)
        self.op_timeout = op_timeout
        self.initial = dict(initial or {})
        self.initial_cache = dict(initial_cache or {})
        if instances < 1:
            raise UsageError(f"instances must be at least 1, got {instances}")
        self._instance_count = instances
        # Until the first subject tells its fill TTL (a script printed while building shows
        # the default).
        self.staleness = DEFAULT_STALENESS
        self.backend: Backend = backend or MemoryBackend()
        self.clock = VirtualClock()
        stores = self.backend.open(self.clock)
        self._close_backend = stores.close
        self.env = Environment(stores.cache, stores.db, stores.queues, self.clock, op_timeout,
                               dict(stores.extras), self.backend.name)
        # A real backend routes its raw clients (env.redis) through the same step hook and
        # faults as env.cache.
        self.backend.bind(self.env)
        self.recorder = Recorder(self.clock, self.run_line,
                                 locate=lambda error: place_of(error, own_code(self.target)))
        self._own_runner = runner is None
        self.runner = OpRunner(op_timeout) if runner is None else runner
        self.env.workers.watchdog = self.runner.watchdog
        self.env.workers.on_hang = lambda what: self.recorder.stuck(Violation("liveness", None, WORKERS_LIVE, what))
        self.env.position = self.recorder.position
        self.closed = False
        self._value = 0
        self._db_seen: dict[str, str | None] = {}
        # Failed writes per key: each may still take effect at any later moment, so the
        # number of explanations grows with them; the machine keeps them few. Only the
        # sequential writes are counted: a batch's are not, and counting them now would
        # change what a seed draws.
        self.indeterminate: dict[str, int] = {}
        for k, v in self.initial.items():
            stores.db.put(k, v)
        for k, v in self.initial_cache.items():
            # An entry of an earlier fill: it expires like one.
            stores.cache.set(k, v, INITIAL_CACHE_TTL)
        self.clock.on_advance = lambda now: self.recorder.record(Tick(now))
        self.instances: list[Instance] = []
        self._indices: dict[str, int] = {}
        self.subjects: list[Any] = []
        for i in range(instances):
            inst = self.env.instance(i)
            self.instances.append(inst)
            self.subjects.append(self._build(inst))
        durable = all(getattr(sub, "durable", False) is True for sub in self.subjects)
        bound = staleness if staleness is not None else getattr(self.subject, "fill_ttl", None)
        self.staleness = float(bound) if isinstance(bound, (int, float)) else DEFAULT_STALENESS
        self.contract = Contract(self.policy, staleness_bound=self.staleness, durable=durable)
        self.recorder.attach(Monitor(self.contract, {k: self.initial.get(k) for k in self.keys}))

    # ---- what the recorder holds ---------------------------------------------------------

    @property
    def events(self) -> list[Any]:
        """The history observed so far (model.events)."""
        return self.recorder.events

    @property
    def lines(self) -> list[str]:
        """The steps taken so far, as the script prints them after `run.`."""
        return self.recorder.lines

    @property
    def monitor(self) -> Monitor | None:
        return self.recorder.monitor

    @property
    def failed(self) -> bool:
        """The run ended with a verdict (or was abandoned)."""
        return self.recorder.failed

    @failed.setter
    def failed(self, value: bool) -> None:
        self.recorder.failed = value

    def run_line(self) -> RunLine:
        """The `run = Run(...)` line that rebuilds this run: the options that differ from
        the defaults, in a fixed order."""
        options: list[tuple[str, Any]] = []
        if self.staleness != DEFAULT_STALENESS:
            options.append(("staleness", self.staleness))
        if self.keys != DEFAULT_KEYS:
            options.append(("keys", self.keys))
        if self._instance_count > 1:
            options.append(("instances", self._instance_count))
        if self.initial:
            options.append(("initial", self.initial))
        if self.initial_cache:
            options.append(("initial_cache", self.initial_cache))
        # Without it, a script of a run on Redis or PostgreSQL would run on the in-memory
        # stores when pasted (and fail there: no env.redis).
        backend = backend_expression(self.backend)
        if backend is not None:
            options.append(("backend", backend))
        return RunLine(target=self.label, policy=self.policy.name, options=tuple(options))

    def script(self) -> str:
        """The runnable counterexample of the steps taken so far."""
        return self.recorder.script()

    # ---- building ----------------------------------------------------------------------

    @property
    def subject(self) -> Any:
        return self.subjects[0] if self.subjects else None

    @property
    def instance(self) -> Instance:
        return self.instances[0]

    def instance_for(self, client: str) -> Instance:
        """The application instance client `cN` talks to: instance N mod instances."""
        # Asked at every call: the parse is kept (the number of instances never changes).
        i = self._indices.get(client)
        if i is None:
            digits = client[1:] if client[:1] == "c" else ""
            i = self._indices[client] = int(digits) % len(self.instances) if digits.isdigit() else 0
        return self.instances[i]

    def subject_for(self, instance: Instance) -> Any:
        """The subject `instance` runs (a crash replaces both)."""
        return self.subjects[self.instances.index(instance)]

    def _subject_of(self, client: str) -> Any:
        return self.subject_for(self.instance_for(client))

    def _build(self, instance: Instance) -> Any:
        what = f"factory {self.label}(env)"
        # A factory may say it needs longer than an operation (`build_timeout`, seconds: an
        # exec factory may wait for a process to start, then for its first reset).
        limit = max(self.op_timeout, float(getattr(self.factory, "build_timeout", 0) or 0))
        try:
            subject = self.runner.call(lambda: self.factory(instance.env), instance, what,
                                       inline=True, on_hang=lambda: self._hung(what, limit=limit), timeout=limit)
        except Hung as e:
            self.close()
            raise SubjectBuildError(f"cannot build the subject: {e.what}") from None
        except Exception as e:  # noqa: BLE001 - the user's factory raised
            self.close()
            place = self.recorder.locate(e)
            # Still one line (a usage error when the probe cannot build): the place appended.
            at = f" (subject code: {place.subject})" if place is not None else ""
            raise SubjectBuildError(f"cannot build the subject: {what} raised {type(e).__name__}: {e}{at}",
                                    place) from None
        missing = [m for m in REQUIRED_OPERATIONS if not callable(getattr(subject, m, None))]
        if missing:
            self.close()
            raise SubjectBuildError(
                f"cannot build the subject: {what} returned {type(subject).__name__}, which has no "
                f"{' or '.join(missing)}() method (the subject contract needs write(key, value) and read(key))"
            )
        return subject

    def fresh_value(self) -> str:
        self._value += 1
        return f"v{self._value}"

    # ---- operations --------------------------------------------------------------------

    def _call(self, operation: Operation, fn: Callable[[], Any]) -> Any:
        recorder = self.recorder
        op = recorder.invoke(operation)
        what = operation.call
        try:
            result = self.runner.call(fn, self.instance_for(operation.client), what, operation.client,
                                      inline=True, on_hang=lambda: self._hung(what, operation.key))
        except Hung as e:
            recorder.violate(Violation("liveness", operation.key, f"{what} returns within {self.op_timeout:g} s",
                                       e.what))
        except HarnessSignal:
            raise
        except Exception as e:  # noqa: BLE001 - a store failure or the subject's own error: the recorder judges
            recorder.complete(op, operation, Raised(e))  # raises unless a store failure
            if operation.kind in WRITES and operation.key is not None:
                self.indeterminate[operation.key] = self.indeterminate.get(operation.key, 0) + 1
            return _FAILED
        recorder.complete(op, operation, Returned(result))
        return result

    def _hung(self, what: str, key: str | None = None, limit: float | None = None) -> LivenessFailure:
        # Called by the watchdog's thread while a call, or a worker run as a greenlet, is
        # still stuck (see calls.Watchdog).
        limit = self.op_timeout if limit is None else limit
        return self.recorder.stuck(Violation("liveness", key, f"{what} returns within {limit:g} s",
                                             f"{what} did not return within {limit:g} s"))

    @staticmethod
    def _client_kw(client: str) -> dict[str, str]:
        return {} if client == "c0" else {"client": client}

    def write(self, key: str, value: str, client: str = "c0") -> None:
        """subject.write(key, value), observed."""
        self.recorder.line(step("write", key, value, **self._client_kw(client)))
        subject = self._subject_of(client)
        self._call(Operation(client, WRITE, key, value), lambda: subject.write(key, value))
        self._settle((key,))

    def read(self, key: str, client: str = "c0") -> str | None:
        """subject.read(key), checked against the contract."""
        self.recorder.line(step("read", key, **self._client_kw(client)))
        subject = self._subject_of(client)
        r = self._call(Operation(client, READ, key), lambda: subject.read(key))
        self._settle((key,))
        return None if r is _FAILED else r

    def delete(self, key: str, client: str = "c0") -> None:
        """subject.delete(key), observed: the subject contract's optional delete (remove or
        invalidate `key`: the DB no longer holds it, reads return None until a new write).
        A subject without one cannot be asked to delete (the machine never draws it)."""
        subject = self._subject_of(client)
        if not callable(getattr(subject, "delete", None)):
            raise UsageError(f"the subject has no delete() method: cannot run delete({key!r})")
        self.recorder.line(step("delete", key, **self._client_kw(client)))
        self._call(Operation(client, DELETE, key), lambda: subject.delete(key))
        self._settle((key,))

    def flush(self, client: str = "c0") -> None:
        """subject.flush() if the subject has one (nothing otherwise)."""
        fn = getattr(self._subject_of(client), "flush", None)
        if not callable(fn):
            return
        self.recorder.line(step("flush", **self._client_kw(client)))
        self._call(Operation(client, FLUSH), fn)
        self._settle(self.keys)

    def concurrent(self, ops: Sequence[tuple[Any, ...]], schedule: list[str] | None = None, *,
                   chooser: Chooser | None = None, allow_crash: bool = False, wake: bool = False,
                   store_steps: dict[str, Any] | None = None) -> list[str]:
        """Run `ops` — (client, 'write'|'read'|'flush', key, value) — concurrently, one store
        step at a time: following `schedule` (task names and '!fault' entries, as printed in
        counterexamples), else as `chooser(options, last)` picks. Returns the schedule taken.

        Raises:
            ScheduleMismatch: the schedule names a task that cannot run at that point.
        """
        norm = [(o[0], o[1], o[2] if len(o) > 2 else None, o[3] if len(o) > 3 else None) for o in ops]
        for c, kind, key, value in norm:
            if kind not in OPERATIONS or (kind != FLUSH and key is None) or (kind == WRITE and value is None):
                raise UsageError(f"bad concurrent operation {(c, kind, key, value)!r}")
            if kind == DELETE and not callable(getattr(self.subject, "delete", None)):
                raise UsageError(f"the subject has no delete() method: cannot run {(c, kind, key)!r}")
        if schedule is not None:
            chooser = ReplayChooser(schedule, on_fault=self._schedule_fault)
            allow_crash = allow_crash or "!crash" in schedule
        elif store_steps is not None:
            faults: dict[int, list[str]] = {}
            for f in store_steps.get("faults", []):
                faults.setdefault(int(f["before_step"]), []).append(f["fault"])
            chooser = StoreStepChooser(store_steps["schedule"], faults, self._schedule_fault)
            allow_crash = allow_crash or any("crash" in v for v in faults.values())
        # The schedule is known only once the batch ran; a violation inside it prints the
        # choices taken up to it, which a replay follows to the same point (past them it
        # goes on without preemption, as `ReplayChooser` does).
        shown = [tuple(x for x in o if x is not None) for o in norm]
        taken: list[str] = []
        extra = {"wake": True} if wake else {}
        line = self.recorder.pending_line(lambda: step("concurrent", shown, schedule=list(taken), **extra))
        if wake:
            # Move the clock to the next worker's wake-up without running it first, so the
            # worker's flush races the batch instead of running before it.
            nxt = min((t.wake_at for t in self.env.workers.tasks if not t.done), default=None)
            if nxt is not None and nxt > self.clock.now():
                self.clock.advance(nxt - self.clock.now())
        run_batch(self, norm, chooser or first_runnable, allow_crash, taken)
        self.recorder.replace_line(line, step("concurrent", shown, schedule=taken, **extra))
        self._settle(self.keys)
        return taken

    def _schedule_fault(self, spec: str) -> None:
        kind, _, arg = spec.partition(":")
        if kind == "crash":
            raise UsageError("'!crash' is a schedule choice, not a fault hook")
        if kind == CLOCK_ADVANCE:
            # The protocol models' clock advance moves past the fill TTL, which is the
            # staleness bound (model.protocols.builder): entries filled with it expire.
            self.clock.advance(self.staleness + 1.0)
            return
        if kind == "db-timeout":
            self._fault(kind, None, arg == "applied")
        else:
            self._fault(kind, arg or None, None)

    # ---- faults ------------------------------------------------------------------------

    def _cache_snapshot(self) -> tuple[CacheEntry, ...]:
        return tuple(CacheEntry(k, v, exp) for k, (v, exp) in self.env.raw_cache.entries().items())

    def fault(self, kind: str, key: str | None = None, applied: bool | None = None) -> None:
        """Inject a fault: db-down, db-up, db-timeout (the next DB write times out; applied: it took
        effect), cache-down, cache-up, cache-restart, evict (key)."""
        args: list[Any] = [kind] + ([key] if kind == "evict" else [])
        self.recorder.line(step("fault", *args, **({"applied": bool(applied)} if kind == "db-timeout" else {})))
        self._fault(kind, key, applied)
        self._settle(())

    def _fault(self, kind: str, key: str | None, applied: bool | None) -> None:
        f = self.env.faults
        now = self.clock.now()
        snapshot: tuple[CacheEntry, ...] = ()
        if kind == "db-down":
            f.db_down = True
        elif kind == "db-up":
            f.db_down = False
        elif kind == "db-timeout":
            f.db_timeout = bool(applied)
        elif kind == "cache-down":
            # The entries the fault may leave behind, for the contract's stale-read allowance.
            snapshot = self._cache_snapshot()
            f.cache_down = True
        elif kind == "cache-up":
            f.cache_down = False
        elif kind == "cache-restart":
            self.env.raw_cache.clear()
        elif kind == "evict":
            if key is None:
                raise UsageError("fault('evict') needs a key")
            self.env.raw_cache.evict(key)
        else:
            raise UsageError(f"unknown fault {kind!r}; known: {', '.join(STORE_FAULTS)}, crash, clock")
        self.recorder.record(Fault(kind, now, key if kind == "evict" else None, snapshot))

    def advance(self, seconds: float) -> None:
        """Move the virtual clock (TTLs run out, workers wake up)."""
        self.recorder.line(step("advance", seconds))
        self.clock.advance(seconds)
        self._settle(())

    def crash(self) -> None:
        """The application dies (every instance: subjects, workers, memory); the stores
        survive; the harness builds new subjects with the same factory."""
        self.recorder.line(step("crash"))
        self.recover()
        self._settle(self.keys)

    def recover(self) -> None:
        """Kill every instance (their workers unwind where they wait), record the crash, and
        build new subjects with the factory: `crash()` without its script line, for a
        crash chosen inside a concurrent batch."""
        durable = all(getattr(s, "durable", False) is True for s in self.subjects)
        for inst in self.instances:
            inst.crashed = True
            self.env.workers.kill(inst)
        self.subjects = []
        self.recorder.record(Crash(self.clock.now(), durable, self._cache_snapshot()))
        self.instances = [self.env.instance(i.id) for i in self.instances]
        for inst in self.instances:
            try:
                self.subjects.append(self._build(inst))
            except SubjectBuildError as e:
                self.recorder.violate(Violation("subject-error", None, "the factory rebuilds the subject after a crash",
                                                str(e), place=e.place))

    # ---- quiescence --------------------------------------------------------------------

    def _settle(self, touched: tuple[str, ...]) -> None:
        try:
            self.env.workers.run_due()
        except Hung as e:
            self.recorder.violate(Violation("liveness", None, WORKERS_LIVE, e.what))
        except HarnessSignal:
            raise
        except Exception as e:  # noqa: BLE001 - a worker's own error
            self.recorder.violate(Violation("subject-error", None, "workers raise only store errors",
                                            f"a background worker raised {type(e).__name__}: {e}",
                                            place=self.recorder.locate(e)))
        db = self.env.raw_db
        now = self.clock.now()
        for k in self.keys:
            v = db.get(k)
            if k in touched or self._db_seen.get(k, self.initial.get(k)) != v:
                self._db_seen[k] = v
                self.recorder.record(DbObserved(k, v, now))

    def finish(self) -> None:
        """Heal every fault, quiesce, flush, let TTLs run out; then check the DB, the
        reads and convergence (every cached entry equals the DB's value)."""
        self.recorder.line(step("finish"))
        f = self.env.faults
        now = self.clock.now()
        for kind, on in (("db-up", f.db_down), ("cache-up", f.cache_down)):
            if on:
                self.recorder.record(Fault(kind, now))
        f.heal()
        self._settle(self.keys)
        self.flush_if_any()
        # Let interval-driven workers run and every TTL (and staleness bound) run out.
        entries = self.env.raw_cache.entries()
        expiries = [e for _, e in entries.values() if e is not None]
        horizon = max([self.staleness, 3600.0] + [e - self.clock.now() for e in expiries]) + 1.0
        self.clock.advance(horizon)
        self._settle(self.keys)
        if not any(callable(getattr(sub, "flush", None)) for sub in self.subjects):
            # Without a flush() to call, quiescence itself is the flush: by now every
            # acknowledged write must have reached the DB.
            harness_flush = Operation("harness", FLUSH)
            self.recorder.complete(self.recorder.invoke(harness_flush), harness_flush, Returned(None))
            self._settle(self.keys)
        # Convergence is the contract's clause: the harness only reports what it sees,
        # each cached entry beside the DB's value read at the same instant.
        db = self.env.raw_db.snapshot()
        now = self.clock.now()
        for k, (v, exp) in sorted(self.env.raw_cache.entries().items()):
            if k in self.keys:
                self.recorder.record(CacheObserved(k, v, exp, db.get(k), now))
        for i, sub in enumerate(self.subjects):
            for k in self.keys:
                self._call(Operation(f"c{i}", READ, k), lambda k=k, sub=sub: sub.read(k))
        self._settle(self.keys)

    def flush_if_any(self) -> None:
        for i, sub in enumerate(self.subjects):
            fn = getattr(sub, "flush", None)
            if callable(fn):
                self._call(Operation(f"c{i}", FLUSH), fn)
                self._settle(self.keys)

    def close(self) -> None:
        """Stop the subject's workers and release the stores (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for inst, sub in zip(getattr(self, "instances", []), getattr(self, "subjects", [])):
            close = getattr(sub, "close", None)
            if callable(close) and not self.failed:
                try:
                    self.runner.call(close, inst, "close()")
                except BaseException:  # noqa: BLE001 - closing is best effort
                    pass
        for inst in {t.instance for t in self.env.workers.tasks}:
            inst.crashed = True
            self.env.workers.kill(inst)
        if self._own_runner:
            self.runner.close()
        try:
            self._close_backend()
        except Exception:  # noqa: BLE001
            pass

    @property
    def verdict_relaxations(self) -> tuple[str, ...]:
        return self.monitor.relaxations() if self.monitor is not None else ()

    def __repr__(self) -> str:
        return f"<Run {self.label} policy={self.policy.name} steps={len(self.lines)}>"
