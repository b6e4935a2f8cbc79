"""One check session: a subject built in a fresh environment, driven step by step, with
every observation fed to the policy's contract as it happens.

`Run` is also the vocabulary of counterexamples: a failing example is printed as the
`Run` calls that reproduce it, and those lines run as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from model import (
    CacheEntry,
    Contract,
    Crash,
    DbObserved,
    Fail,
    Fault,
    Invoke,
    Monitor,
    Ok,
    Tick,
    Violation,
    policy as lookup_policy,
)
from model.policies import Policy

from conformance.env import Environment, Hung, Instance, OpRunner, VirtualClock
from conformance.errors import HarnessSignal, UsageError
from conformance.stores import MemoryCache, MemoryDB, MemoryQueues
from conformance.target import load_factory

__all__ = ["Run", "ContractViolation", "LivenessFailure", "Inconclusive", "SubjectBuildError", "DEFAULT_KEYS", "FAULT_KINDS"]

# Two keys: enough to show that keys are independent, few enough that a write, a fault and
# a read of the same key line up often.
DEFAULT_KEYS = ("k0", "k1")
FAULT_KINDS = ("db-down", "db-up", "db-timeout", "cache-down", "cache-up", "cache-restart", "evict")
_FAILED = object()
INITIAL_CACHE_TTL = 300.0
# The clause text when a background worker does not come back to the harness.
WORKERS_LIVE = "background workers sleep or return"


class ContractViolation(AssertionError):
    """The subject did something its policy's contract cannot explain."""

    def __init__(self, violation: Violation, script: str = ""):
        super().__init__(violation.describe())
        self.violation = violation
        self.script = script


class LivenessFailure(HarnessSignal):
    """A subject call or worker hung. A BaseException, so Hypothesis does not shrink it:
    every replay would cost another timeout. The counterexample is reported unshrunk."""

    def __init__(self, violation: Violation, script: str):
        super().__init__(violation.describe())
        self.violation = violation
        self.script = script


class Inconclusive(HarnessSignal):
    """The checker's budget ran out: the verdict is UNKNOWN (never a pass)."""


class SubjectBuildError(UsageError):
    """The factory could not build a subject."""


class MemoryBackend:
    """The embedded default: in-memory cache, DB and durable queues."""

    name = "memory"

    def open(self, clock: VirtualClock) -> tuple[Any, Any, Any, dict[str, Any], Callable[[], None]]:
        return MemoryCache(clock), MemoryDB(), MemoryQueues(), {}, lambda: None


class Run:
    """A subject under check.

    Example::

        run = Run("implementations.memory:write_through", policy="write-through")
        run.write("k0", "v1")
        run.fault("db-down")
        run.read("k0")
        run.finish()

    Args:
        target: a factory, or `module:factory` / `path/file.py:factory`.
        policy: the policy name (aliases work).
        keys: the keys the check uses (DB observations cover them).
        op_timeout: seconds a subject call may take before it is judged hung.
        staleness: the bounded-staleness bound; default the subject's `fill_ttl`, else 300 s.
        backend: an object with `open(clock)` (conformance.backends), default in-memory.
        initial: DB contents before the subject is built.
        initial_cache: cache entries before the subject is built (as from an earlier
            fill: they expire after INITIAL_CACHE_TTL seconds).
        instances: application instances (factory calls) sharing the cache and the DB;
            client `cN` talks to instance N mod instances.
        runner: the OpRunner that makes subject calls, shared by the runs of one check
            (`run_check` passes one with a Watchdog); default: the run's own.

    Raises:
        SubjectBuildError: the factory raised or returned something without write/read.
        ContractViolation: from any step, when the contract cannot explain what happened.
    """

    def __init__(self, target: Any, policy: str | Policy, *, keys: tuple[str, ...] = DEFAULT_KEYS,
                 op_timeout: float = 2.0, staleness: float | None = None, backend: Any = None,
                 initial: dict[str, str] | None = None, instances: int = 1,
                 initial_cache: dict[str, str] | None = None, runner: OpRunner | None = None):
        if not op_timeout > 0:  # NaN too
            raise UsageError(f"the timeout of a subject call must be a positive number of "
                             f"seconds, got {op_timeout}")
        self.factory, self.label = load_factory(target)
        self.policy = policy if isinstance(policy, Policy) else lookup_policy(policy)
        self.keys = tuple(keys)
        self.op_timeout = op_timeout
        self.backend = backend or MemoryBackend()
        self.clock = VirtualClock()
        raw_cache, raw_db, raw_queues, extras, self._close_backend = self.backend.open(self.clock)
        self.env = Environment(raw_cache, raw_db, raw_queues, self.clock, op_timeout, extras,
                               getattr(self.backend, "name", "memory"))
        bind = getattr(self.backend, "bind", None)
        if callable(bind):
            # Real backends route their raw clients (env.redis) through the same steps and
            # faults as env.cache.
            bind(self.env)
        self._own_runner = runner is None
        self.runner = OpRunner(op_timeout) if runner is None else runner
        self.env.workers.watchdog = self.runner.watchdog
        self.env.workers.on_hang = lambda what: self._stuck(Violation("liveness", None, WORKERS_LIVE, what))
        self.events: list[Any] = []
        self.monitor: Monitor | None = None  # once the subjects are built
        self.env.position = lambda: len(self.events)
        self.lines: list[str] = []
        self.failed = False
        self.closed = False
        self._op = 0
        self._value = 0
        self._db_seen: dict[str, str | None] = {}
        # Failed writes per key: each may still take effect at any later moment, so the
        # number of explanations grows with them; the machine keeps them few.
        self.indeterminate: dict[str, int] = {}
        self.initial = dict(initial or {})
        for k, v in self.initial.items():
            raw_db.put(k, v)
        self.initial_cache = dict(initial_cache or {})
        for k, v in self.initial_cache.items():
            # An entry of an earlier fill: it expires like one.
            raw_cache.set(k, v, INITIAL_CACHE_TTL)
        self.clock.on_advance = lambda now: self._feed(Tick(now))
        if instances < 1:
            raise UsageError(f"instances must be at least 1, got {instances}")
        self.instances: list[Instance] = []
        self._indices: dict[str, int] = {}
        self.subjects: list[Any] = []
        for i in range(instances):
            inst = self.env.instance(i)
            self.instances.append(inst)
            self.subjects.append(self._build(inst, first=True))
        durable = all(getattr(sub, "durable", False) is True for sub in self.subjects)
        bound = staleness if staleness is not None else getattr(self.subject, "fill_ttl", None)
        self.staleness = float(bound) if isinstance(bound, (int, float)) else 300.0
        self.contract = Contract(self.policy, staleness_bound=self.staleness, durable=durable)
        self.monitor = Monitor(self.contract, {k: self.initial.get(k) for k in self.keys})

    # ---- building ----------------------------------------------------------------------

    @property
    def subject(self) -> Any:
        return self.subjects[0] if self.subjects else None

    @property
    def instance(self) -> Instance:
        return self.instances[0]

    def _index(self, client: str) -> int:
        # Asked at every call: the parse is kept (the number of instances never changes).
        i = self._indices.get(client)
        if i is None:
            digits = client[1:] if client[:1] == "c" else ""
            i = self._indices[client] = int(digits) % len(self.instances) if digits.isdigit() else 0
        return i

    def _build(self, instance: Instance, first: bool = False) -> Any:
        what = f"factory {self.label}(env)"
        try:
            subject = self.runner.call(lambda: self.factory(instance.env), instance, what,
                                       inline=True, on_hang=lambda: self._hung(what))
        except Hung as e:
            self.close()
            raise SubjectBuildError(f"cannot build the subject: {e.what}") from None
        except Exception as e:  # noqa: BLE001 - the user's factory raised
            self.close()
            raise SubjectBuildError(f"cannot build the subject: {what} raised {type(e).__name__}: {e}") from None
        missing = [m for m in ("write", "read") if not callable(getattr(subject, m, None))]
        if missing:
            self.close()
            raise SubjectBuildError(
                f"cannot build the subject: {what} returned {type(subject).__name__}, which has no "
                f"{' or '.join(missing)}() method (the subject contract needs write(key, value) and read(key))"
            )
        return subject

    # ---- recording ---------------------------------------------------------------------

    def _feed(self, event: Any) -> None:
        self.events.append(event)
        if self.monitor is None:
            return  # still building the first subjects
        r = self.monitor.feed(event)
        if r is None:
            return
        if isinstance(r, Violation):
            self._violate(r)
        self.failed = True
        raise Inconclusive(r)

    def _violate(self, v: Violation) -> None:
        self.failed = True
        if v.clause == "liveness":
            raise LivenessFailure(v, self.script())
        raise ContractViolation(v, self.script())

    def _line(self, text: str) -> None:
        self.lines.append(text)

    @staticmethod
    def _client_arg(client: str) -> str:
        return "" if client == "c0" else f", client={client!r}"

    def script(self) -> str:
        opts = ""
        if getattr(self, "staleness", 300.0) != 300.0:  # unset while the first build runs
            opts += f", staleness={self.staleness!r}"
        if self.keys != DEFAULT_KEYS:
            opts += f", keys={self.keys!r}"
        if len(self.instances) > 1:
            opts += f", instances={len(self.instances)}"
        if self.initial:
            opts += f", initial={self.initial!r}"
        if self.initial_cache:
            opts += f", initial_cache={self.initial_cache!r}"
        head = ["from conformance import Run", "", f"run = Run({self.label!r}, policy={self.policy.name!r}{opts})"]
        return "\n".join(head + [f"run.{ln}" for ln in self.lines])

    def fresh_value(self) -> str:
        self._value += 1
        return f"v{self._value}"

    # ---- operations --------------------------------------------------------------------

    def _call(self, kind: str, key: str | None, value: str | None, client: str, fn: Callable[[], Any]) -> Any:
        self._op += 1
        op = self._op
        now = self.clock.now()
        self._feed(Invoke(op, client, kind, key, value, now))  # type: ignore[arg-type]
        args = ", ".join(repr(a) for a in (key, value) if a is not None)
        try:
            result = self.runner.call(fn, self.instances[self._index(client)], f"{kind}({args})", client,
                                      inline=True, on_hang=lambda: self._hung(f"{kind}({args})", key))
        except Hung as e:
            self._violate(Violation("liveness", key, f"{kind}({args}) returns within {self.op_timeout:g} s", e.what))
        except (ConnectionError, TimeoutError) as e:
            if kind == "write" and key is not None:
                self.indeterminate[key] = self.indeterminate.get(key, 0) + 1
            self._feed(Fail(op, f"{type(e).__name__}: {e}", self.clock.now()))
            return _FAILED
        except HarnessSignal:
            raise
        except Exception as e:  # noqa: BLE001 - the subject's own error
            self._violate(Violation("subject-error", key, f"{kind}({args}) returns or raises a store error",
                                    f"it raised {type(e).__name__}: {e}"))
        if kind == "read" and result is not None and not isinstance(result, str):
            self._violate(Violation("subject-error", key, "read returns str or None",
                                    f"read({args}) returned {result!r} ({type(result).__name__})"))
        self._feed(Ok(op, result if kind == "read" else None, self.clock.now()))
        return result

    def _hung(self, what: str, key: str | None = None) -> LivenessFailure:
        return self._stuck(Violation("liveness", key, f"{what} returns within {self.op_timeout:g} s",
                                     f"{what} did not return within {self.op_timeout:g} s"))

    def _stuck(self, violation: Violation) -> LivenessFailure:
        # Called by the watchdog's thread while a call, or a worker run as a greenlet, is
        # still stuck (see Watchdog).
        self.failed = True
        return LivenessFailure(violation, self.script())

    def write(self, key: str, value: str, client: str = "c0") -> None:
        """subject.write(key, value), observed."""
        self._line(f"write({key!r}, {value!r}{self._client_arg(client)})")
        subject = self.subjects[self._index(client)]
        self._call("write", key, value, client, lambda: subject.write(key, value))
        self._settle((key,))

    def read(self, key: str, client: str = "c0") -> str | None:
        """subject.read(key), checked against the contract."""
        self._line(f"read({key!r}{self._client_arg(client)})")
        subject = self.subjects[self._index(client)]
        r = self._call("read", key, None, client, lambda: subject.read(key))
        self._settle((key,))
        return None if r is _FAILED else r

    def flush(self, client: str = "c0") -> None:
        """subject.flush() if the subject has one (nothing otherwise)."""
        fn = getattr(self.subjects[self._index(client)], "flush", None)
        if not callable(fn):
            return
        self._line(f"flush({self._client_arg(client)[2:]})")
        self._call("flush", None, None, client, fn)
        self._settle(self.keys)

    def concurrent(self, ops: list[tuple], schedule: list[str] | None = None, *,
                   chooser: Any = None, allow_crash: bool = False, wake: bool = False,
                   store_steps: dict[str, Any] | None = None) -> list[str]:
        """Run `ops` — (client, 'write'|'read'|'flush', key, value) — concurrently, one store
        step at a time: following `schedule` (task names and '!fault' entries, as printed in
        counterexamples), else as `chooser(options, last)` picks. Returns the schedule taken.

        Raises:
            ScheduleMismatch: the schedule names a task that cannot run at that point.
        """
        from conformance.batch import run_batch
        from conformance.scheduler import ReplayChooser, StoreStepChooser, first_runnable

        norm = [(o[0], o[1], o[2] if len(o) > 2 else None, o[3] if len(o) > 3 else None) for o in ops]
        for c, kind, key, value in norm:
            if kind not in ("write", "read", "flush") or (kind != "flush" and key is None) or (kind == "write" and value is None):
                raise UsageError(f"bad concurrent operation {(c, kind, key, value)!r}")
        if schedule is not None:
            chooser = ReplayChooser(schedule, on_fault=self._schedule_fault)
            allow_crash = allow_crash or "!crash" in schedule
        elif store_steps is not None:
            faults: dict[int, list[str]] = {}
            for f in store_steps.get("faults", []):
                faults.setdefault(int(f["before_step"]), []).append(f["fault"])
            chooser = StoreStepChooser(store_steps["schedule"], faults, self._schedule_fault)
            allow_crash = allow_crash or any("crash" in v for v in faults.values())
        line_at = len(self.lines)
        self._line("concurrent(...)")
        if wake:
            # Move the clock to the next worker's wake-up without running it first, so the
            # worker's flush races the batch instead of running before it.
            nxt = min((t.wake_at for t in self.env.workers.tasks if not t.done), default=None)
            if nxt is not None and nxt > self.clock.now():
                self.clock.advance(nxt - self.clock.now())
        taken = run_batch(self, norm, chooser or first_runnable, allow_crash)
        shown = [tuple(x for x in o if x is not None) for o in norm]
        self.lines[line_at] = f"concurrent({shown!r}, schedule={taken!r}{', wake=True' if wake else ''})"
        self._settle(self.keys)
        return taken

    def _schedule_fault(self, spec: str) -> None:
        kind, _, arg = spec.partition(":")
        if kind == "crash":
            raise UsageError("'!crash' is a schedule choice, not a fault hook")
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
        args = repr(kind) + (f", {key!r}" if kind == "evict" else "") + (f", applied={bool(applied)!r}" if kind == "db-timeout" else "")
        self._line(f"fault({args})")
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
            raise UsageError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}, crash, clock")
        self._feed(Fault(kind, now, key if kind == "evict" else None, snapshot))

    def advance(self, seconds: float) -> None:
        """Move the virtual clock (TTLs run out, workers wake up)."""
        self._line(f"advance({seconds!r})")
        self.clock.advance(seconds)
        self._settle(())

    def crash(self) -> None:
        """The application dies (every instance: subjects, workers, memory); the stores
        survive; the harness builds new subjects with the same factory."""
        self._line("crash()")
        self._crash_and_recover()
        self._settle(self.keys)

    def _crash_and_recover(self) -> None:
        durable = all(getattr(s, "durable", False) is True for s in self.subjects)
        for inst in self.instances:
            inst.crashed = True
            self.env.workers.kill(inst)
        self.subjects = []
        self._feed(Crash(self.clock.now(), durable, self._cache_snapshot()))
        self.instances = [self.env.instance(i.id) for i in self.instances]
        for inst in self.instances:
            try:
                self.subjects.append(self._build(inst))
            except SubjectBuildError as e:
                self._violate(Violation("subject-error", None, "the factory rebuilds the subject after a crash", str(e)))

    # ---- quiescence --------------------------------------------------------------------

    def _settle(self, touched: tuple[str, ...]) -> None:
        try:
            self.env.workers.run_due()
        except Hung as e:
            self._violate(Violation("liveness", None, WORKERS_LIVE, e.what))
        except HarnessSignal:
            raise
        except Exception as e:  # noqa: BLE001 - a worker's own error
            self._violate(Violation("subject-error", None, "workers raise only store errors",
                                    f"a background worker raised {type(e).__name__}: {e}"))
        db = self.env.raw_db
        now = self.clock.now()
        for k in self.keys:
            v = db.get(k)
            if k in touched or self._db_seen.get(k, self.initial.get(k)) != v:
                self._db_seen[k] = v
                self._feed(DbObserved(k, v, now))

    def finish(self) -> None:
        """Heal every fault, quiesce, flush, let TTLs run out; then check the DB, the
        reads and convergence (every cached entry equals the DB's value)."""
        self._line("finish()")
        f = self.env.faults
        now = self.clock.now()
        for kind, on in (("db-up", f.db_down), ("cache-up", f.cache_down)):
            if on:
                self._feed(Fault(kind, now))
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
            self._op += 1
            self._feed(Invoke(self._op, "harness", "flush", None, None, self.clock.now()))
            self._feed(Ok(self._op, None, self.clock.now()))
            self._settle(self.keys)
        db = self.env.raw_db.snapshot()
        for k, (v, exp) in sorted(self.env.raw_cache.entries().items()):
            if k in self.keys and db.get(k) != v:
                self._violate(Violation(
                    "convergence", k, f"the cached entry equals the DB's value {db.get(k)!r}",
                    f"the cache holds {v!r} ({'no TTL' if exp is None else f'expires at t={exp:g}'}) after faults healed, "
                    f"work was flushed and TTLs ran out",
                ))
        for i, sub in enumerate(self.subjects):
            for k in self.keys:
                self._call("read", k, None, f"c{i}", lambda k=k, sub=sub: sub.read(k))
        self._settle(self.keys)

    def flush_if_any(self) -> None:
        for i, sub in enumerate(self.subjects):
            fn = getattr(sub, "flush", None)
            if callable(fn):
                self._call("flush", None, None, f"c{i}", fn)
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

