"""`check`: run a policy's Hypothesis machine against a subject and return a verdict.

    report = run_check("mypkg.cache:factory", policy="write-through")
    check(factory, policy="write-behind")      # raises NonConformance unless CONFORMS
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.stateful import run_state_machine_as_test

from model import CONFORMS, VIOLATES, Policy
from model.vocabulary import CLOCK, HEALS

from conformance.backend import Backend
from conformance.calls import OpRunner, Watchdog
from conformance.errors import UsageError
from conformance.exhaustive import explore_schedules, parse_ops
from conformance.machine import Tracker, machine_for
from conformance.outcome import CheckReport, NonConformance, judge
from conformance.run import DEFAULT_KEYS, Run
from conformance.target import Target, resolve_target

__all__ = ["CheckReport", "NonConformance", "run_check", "check", "DEFAULT_EXAMPLES", "DEFAULT_STEPS"]

# 500 examples of 30 steps. A bug that needs one fault at one exact moment (the README's:
# a DB write that timed out after it took effect, then a read of the old cached value) was
# found on 17 seeds in 20 at 200 examples before the generator learnt to keep to one key
# and to read after a failed write; it is now found on 20 in 20 at 200. The larger budget
# stays for bugs that need more steps in line. A conforming check runs it all: a few seconds.
DEFAULT_EXAMPLES = 500
DEFAULT_STEPS = 30
# Shrinking a concurrent example can take minutes; past this budget the smallest failing
# example found so far is reported (still a real, replayable counterexample).
DEFAULT_SHRINK_SECONDS = 10.0


@contextmanager
def _shrink_budget(seconds: float) -> Iterator[None]:
    # Hypothesis has no public setting for this; its engine reads a module constant.
    # Without it (another Hypothesis version) its own default applies.
    from hypothesis.internal.conjecture import engine

    old = getattr(engine, "MAX_SHRINKING_SECONDS", None)
    if old is None:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = seconds  # type: ignore[assignment]
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = old


@contextmanager
def _no_local_constants() -> Iterator[None]:
    # Hypothesis (>= 6.131) also draws integer literals found in the modules a process has
    # imported from outside site-packages. A seed's examples would then depend on what else
    # the process loaded (the CLI, pytest, a report worker): the same `--seed` could find a
    # bug in one and miss it in another. A check draws without them, so a seed means the
    # same search everywhere. Without that internal (another version), nothing changes.
    try:
        from hypothesis.internal.conjecture import providers

        get, clear = providers._get_local_constants, providers.CONSTANTS_CACHE.cache.clear
        none = type(providers._local_constants)()
    except (ImportError, AttributeError, TypeError):
        get = None
    if get is None:
        yield
        return
    providers._get_local_constants = lambda: none  # type: ignore[attr-defined]
    clear()  # constants already drawn from are cached per choice type
    try:
        yield
    finally:
        providers._get_local_constants = get  # type: ignore[attr-defined]
        clear()


def run_check(target: Target | str | Callable[..., Any], policy: str | Policy | None, *,
              examples: int = DEFAULT_EXAMPLES, steps: int = DEFAULT_STEPS, seed: int | None = 0,
              op_timeout: float = 2.0, staleness: float | None = None, backend: Backend | None = None,
              keys: tuple[str, ...] = DEFAULT_KEYS, clients: int = 1, instances: int = 1,
              schedule: str = "hypothesis", shrink_seconds: float = DEFAULT_SHRINK_SECONDS,
              faults: tuple[str, ...] | None = None) -> CheckReport:
    """Check `target` (a factory, 'module:factory' or a resolved `Target`) against `policy`;
    never raises for a non-conforming subject: the report says VIOLATES or UNKNOWN.

    Args:
        faults: the faults the search may inject, a subset of the policy's (`Policy.faults`:
            store faults, `clock`, `crash`; a lasting fault brings its healing one); None:
            all of them.

    Raises:
        UsageError: unknown policy, a target that cannot be imported, a factory that cannot
            build a subject, a fault the policy does not have.
    """
    if examples < 1 or steps < 1:
        raise UsageError(f"examples and steps must be at least 1 (got {examples}, {steps})")
    if clients < 1 or instances < 1 or clients > 16 or instances > 16:
        raise UsageError(f"clients and instances must be between 1 and 16 (got {clients}, {instances})")
    if schedule not in ("hypothesis", "pct"):
        raise UsageError(f"unknown schedule strategy {schedule!r}; known: hypothesis, pct")
    subject = resolve_target(target, policy)
    pol = subject.policy
    unknown = [f for f in faults or () if f not in pol.faults]
    if unknown:
        healing = [f"{f} comes with {down}" for down, f in HEALS.items() if f in unknown]
        raise UsageError(f"{pol.name} has no fault {', '.join(map(repr, unknown))}"
                         f"{' (' + '; '.join(healing) + ')' if healing else ''}; "
                         f"its faults: {', '.join(pol.faults)}")
    chosen = pol.faults if faults is None else tuple(f for f in pol.faults if f in faults)
    started = time.perf_counter()

    # Subject calls run inline on the thread that runs Hypothesis; this thread watches
    # for a call that hangs (a thread hand-off per call would cost more than the step).
    watchdog = Watchdog()
    runner = OpRunner(op_timeout, watchdog)

    def make_run() -> Run:
        return Run(subject, keys=keys, op_timeout=op_timeout, staleness=staleness, backend=backend,
                   instances=instances, runner=runner)

    make_run().close()  # a probe: a factory that cannot build a subject is a usage error
    if clients > 1 or instances > 1:
        # The classic races first: a few hundred exhaustive schedules take well under a
        # second, where a random search can need thousands of examples to line one up.
        found = _canonical_races(subject, instances, op_timeout, backend, chosen)
        if found is not None:
            runner.close()
            return attrs.evolve(found, seconds=time.perf_counter() - started, seed=seed)
    tracker = Tracker()
    machine = machine_for(make_run, chosen, keys, tracker, clients, instances, schedule,
                          advance=faults is None or CLOCK in faults)

    def factory_fn() -> Any:
        return machine()

    if seed is not None:
        factory_fn._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    cfg = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                   derandomize=False, report_multiple_bugs=False, print_blob=False,
                   phases=(Phase.explicit, Phase.generate, Phase.shrink), verbosity=Verbosity.quiet,
                   suppress_health_check=list(HealthCheck))

    def search() -> None:
        with _shrink_budget(shrink_seconds), _no_local_constants():
            watchdog.run(lambda: run_state_machine_as_test(factory_fn, settings=cfg))

    try:
        judged = judge(search, relaxations=lambda: tracker.last.verdict_relaxations if tracker.last else ())
    finally:
        if tracker.last is not None:
            tracker.last.close()
        runner.close()
    # The run shown: the last one Hypothesis ran (the shrunk failure, or the last
    # conforming example); when the failure did not reproduce, the first one that failed.
    shown = tracker.last
    script = judged.script
    if judged.flaky and tracker.first_failure is not None:
        shown = tracker.first_failure
        script = shown.script()
    if script is None and judged.verdict.status == VIOLATES and shown is not None:
        script = shown.script()
    return CheckReport(target=subject.label, policy=pol.name, verdict=judged.verdict, examples=tracker.examples,
                       steps=tracker.steps, seconds=time.perf_counter() - started, counterexample=script, seed=seed,
                       note=judged.note, history=tuple(shown.events) if shown else (),
                       trace=tuple(shown.env.trace) if shown else ())


# Small two-client scenarios every concurrent check explores exhaustively (preemption
# bound 2) before its random search: the classic races of each policy family need one or
# two preemptions at exact steps, which random schedules hit only now and then.
# (set-up steps, operations, crash at any step)
_CANONICAL: dict[bool, tuple[tuple[tuple[tuple[str, tuple[Any, ...]], ...], str, bool], ...]] = {
    False: (
        ((), "c0:read:k0 c1:write:k0", False),          # a fill racing an invalidation
        ((), "c0:write:k0 c1:write:k0", False),         # two writers, DB and cache orders crossing
        ((("write", ("k0", "s1")),), "c0:write:k0 c1:read:k0", False),
    ),
    True: (
        ((("write", ("k0", "s1")), ("fault", ("db-down",))), "c0:flush c1:write:k0", False),  # a failing flush
        ((("write", ("k0", "s1")),), "c0:flush c1:write:k0", True),   # a crash inside a flush
        ((("write", ("k0", "s1")),), "c0:flush c1:read:k0", True),
    ),
}


def _canonical_races(subject: Target, instances: int, op_timeout: float,
                     backend: Backend | None = None, faults: tuple[str, ...] | None = None) -> CheckReport | None:
    pol = subject.policy
    faults = pol.faults if faults is None else faults
    for setup, ops, crash in _CANONICAL[pol.buffered]:
        # A race that needs a fault the check leaves out is not explored.
        if crash and "crash" not in faults:
            continue
        if any(name == "fault" and args[0] not in faults for name, args in setup):
            continue
        r = explore_schedules(subject, None, parse_ops(ops), preemptions=2, max_schedules=400, crash=crash,
                              instances=instances, setup=setup, op_timeout=op_timeout,
                              initial=None if pol.buffered else {"k0": "v0"}, backend=backend)
        if r.verdict.status == VIOLATES:
            return attrs.evolve(r, note=f"found by exhaustive exploration of the scenario {ops!r}"
                                        f"{' (crash at any step)' if crash else ''}, before the random search")
    return None


def check(target: Target | str | Callable[..., Any], policy: str | Policy | None, **options: Any) -> CheckReport:
    """Like `run_check`, but raise `NonConformance` (an AssertionError, with the
    counterexample) unless the verdict is CONFORMS: one line gates a CI job."""
    report = run_check(target, policy, **options)
    if report.verdict.status != CONFORMS:
        raise NonConformance(report)
    return report
