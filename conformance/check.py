"""`check`: run a policy's Hypothesis machine against a subject and return a verdict.

    report = run_check("mypkg.cache:factory", policy="write-through")
    check(factory, policy="write-behind")      # raises NonConformance unless CONFORMS
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from attrs import frozen
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from model import CONFORMS, UNKNOWN, VIOLATES, Verdict, Violation
from model.policies import Policy, policy as lookup_policy

from conformance.env import Hung, OpRunner, Watchdog
from conformance.errors import UsageError
from conformance.machine import Tracker, machine_for
from conformance.run import DEFAULT_KEYS, ContractViolation, Inconclusive, LivenessFailure, Run
from conformance.target import load_factory

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


@frozen
class CheckReport:
    """The outcome of one check, with what it took to reach it.

    Attributes:
        target: the factory's name.
        policy: the policy checked.
        verdict: CONFORMS / VIOLATES / UNKNOWN with the evidence.
        examples: Hypothesis examples run (including shrinking).
        steps: rules executed in total.
        seconds: wall time.
        counterexample: runnable Python reproducing the violation (shrunk), or None.
        seed: the seed used.
        note: anything the reader should know (e.g. not reproducible on replay).
        history: the observed events (model.events) of the reported run: the shrunk failing
            one, or the last one when it conforms.
        trace: its store steps, (position in history, lane, store, call, key).
    """

    target: str
    policy: str
    verdict: Verdict
    examples: int
    steps: int
    seconds: float
    counterexample: str | None = None
    seed: int | None = None
    note: str | None = None
    history: tuple[Any, ...] = ()
    trace: tuple[tuple[int, str, str, str, str | None], ...] = ()

    @property
    def clause(self) -> str | None:
        return self.verdict.violation.clause if self.verdict.violation else None

    def to_json(self) -> dict[str, Any]:
        v = self.verdict.violation
        return {
            "target": self.target,
            "policy": self.policy,
            "verdict": self.verdict.status,
            "clause": self.clause,
            "examples": self.examples,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "counterexample": self.counterexample,
            "expected": v.expected if v else None,
            "observed": v.observed if v else None,
            "key": v.key if v else None,
            "relaxations": list(self.verdict.relaxations),
            "reason": self.verdict.reason,
            "note": self.note,
        }

    def render(self) -> str:
        head = f"{self.verdict.status}: {self.target} as {self.policy}"
        stats = f"({self.examples} examples, {self.steps} steps, {self.seconds:.2f} s, seed {self.seed})"
        out = [f"{head} {stats}"]
        v = self.verdict.violation
        if v is not None:
            out.append(f"clause broken: {v.clause} — {v.title}")
            if v.key is not None:
                out.append(f"key: {v.key!r}")
            out.append(f"expected: {v.expected}")
            out.append(f"observed: {v.observed}")
        if self.verdict.reason:
            out.append(f"reason: {self.verdict.reason}")
        if self.note:
            out.append(f"note: {self.note}")
        if self.counterexample:
            out += ["", "counterexample (runnable):", "", self.counterexample]
        return "\n".join(out)


class NonConformance(AssertionError):
    """A subject does not conform (or could not be shown to): carries the report."""

    def __init__(self, report: CheckReport):
        super().__init__(report.render())
        self.report = report


def run_check(target: Any, policy: str | Policy, *, examples: int = DEFAULT_EXAMPLES,
              steps: int = DEFAULT_STEPS, seed: int | None = 0, op_timeout: float = 2.0,
              staleness: float | None = None, backend: Any = None,
              keys: tuple[str, ...] = DEFAULT_KEYS, clients: int = 1, instances: int = 1,
              schedule: str = "hypothesis", shrink_seconds: float = DEFAULT_SHRINK_SECONDS) -> CheckReport:
    """Check `target` (a factory or 'module:factory') against `policy`; never raises for a
    non-conforming subject: the report says VIOLATES or UNKNOWN.

    Raises:
        UsageError: unknown policy, a target that cannot be imported, a factory that cannot
            build a subject.
    """
    if examples < 1 or steps < 1:
        raise UsageError(f"examples and steps must be at least 1 (got {examples}, {steps})")
    if clients < 1 or instances < 1 or clients > 16 or instances > 16:
        raise UsageError(f"clients and instances must be between 1 and 16 (got {clients}, {instances})")
    if schedule not in ("hypothesis", "pct"):
        raise UsageError(f"unknown schedule strategy {schedule!r}; known: hypothesis, pct")
    pol = policy if isinstance(policy, Policy) else _policy(policy)
    factory, label = load_factory(target)
    started = time.perf_counter()

    # Subject calls run inline on the thread that runs Hypothesis; this thread watches
    # for a call that hangs (a thread hand-off per call would cost more than the step).
    watchdog = Watchdog()
    runner = OpRunner(op_timeout, watchdog)

    def make_run() -> Run:
        run = Run(factory, pol, keys=keys, op_timeout=op_timeout, staleness=staleness, backend=backend,
                  instances=instances, runner=runner)
        run.label = label
        return run

    make_run().close()  # a probe: a factory that cannot build a subject is a usage error
    if clients > 1 or instances > 1:
        # The classic races first: a few hundred exhaustive schedules take well under a
        # second, where a random search can need thousands of examples to line one up.
        found = _canonical_races(factory, pol, instances, op_timeout, backend)
        if found is not None:
            runner.close()
            return attrs.evolve(found, target=label, seconds=time.perf_counter() - started, seed=seed)
    tracker = Tracker()
    machine = machine_for(make_run, pol.faults, keys, tracker, clients, instances, schedule)

    def factory_fn() -> Any:
        return machine()

    if seed is not None:
        factory_fn._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    cfg = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                   derandomize=False, report_multiple_bugs=False, print_blob=False,
                   phases=(Phase.explicit, Phase.generate, Phase.shrink), verbosity=Verbosity.quiet,
                   suppress_health_check=list(HealthCheck))
    verdict: Verdict
    script: str | None = None
    note: str | None = None
    flaky = False
    try:
        with _shrink_budget(shrink_seconds), _no_local_constants():
            watchdog.run(lambda: run_state_machine_as_test(factory_fn, settings=cfg))
        verdict = Verdict(CONFORMS, relaxations=_relaxations(tracker))
    except ContractViolation as e:
        verdict, script = Verdict(VIOLATES, e.violation), e.script
    except Flaky as e:
        first = tracker.first_failure
        cause = _first_violation(e)
        verdict = Verdict(VIOLATES, cause) if cause else Verdict(UNKNOWN, reason=f"flaky: {e}")
        script = first.script() if first else None
        note = "the failure did not reproduce on replay: the subject is nondeterministic (threads, real time?)"
        flaky = True
    except Inconclusive as e:
        verdict = Verdict(UNKNOWN, reason=str(e))
    except LivenessFailure as e:
        verdict, script = Verdict(VIOLATES, e.violation), e.script
        note = "not shrunk: every replay of a hang costs a full timeout"
    except Hung as e:
        verdict = Verdict(VIOLATES, Violation("liveness", None, "operations return within the timeout", e.what))
    finally:
        if tracker.last is not None:
            tracker.last.close()
        runner.close()
    shown = tracker.last
    if flaky and tracker.first_failure is not None:
        shown = tracker.first_failure
    if script is None and verdict.status == VIOLATES and shown is not None:
        script = shown.script()
    return CheckReport(label, pol.name, verdict, tracker.examples, tracker.steps,
                       time.perf_counter() - started, script, seed, note,
                       tuple(shown.events) if shown else (), tuple(shown.env.trace) if shown else ())


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


def _canonical_races(factory: Any, pol: Policy, instances: int, op_timeout: float,
                     backend: Any = None) -> CheckReport | None:
    from conformance.exhaustive import explore_schedules, parse_ops

    for setup, ops, crash in _CANONICAL[pol.buffered]:
        if crash and "crash" not in pol.faults:
            continue
        r = explore_schedules(factory, pol.name, parse_ops(ops), preemptions=2, max_schedules=400, crash=crash,
                              instances=instances, setup=setup, op_timeout=op_timeout,
                              initial=None if pol.buffered else {"k0": "v0"}, backend=backend)
        if r.verdict.status == VIOLATES:
            return attrs.evolve(r, note=f"found by exhaustive exploration of the scenario {ops!r}"
                                        f"{' (crash at any step)' if crash else ''}, before the random search")
    return None


def check(target: Any, policy: str | Policy, **options: Any) -> CheckReport:
    """Like `run_check`, but raise `NonConformance` (an AssertionError, with the
    counterexample) unless the verdict is CONFORMS: one line gates a CI job."""
    report = run_check(target, policy, **options)
    if report.verdict.status != CONFORMS:
        raise NonConformance(report)
    return report


def _policy(name: str) -> Policy:
    try:
        return lookup_policy(name)
    except KeyError as e:
        raise UsageError(str(e)) from None


def _relaxations(tracker: Tracker) -> tuple[str, ...]:
    return tracker.last.verdict_relaxations if tracker.last is not None else ()


def _first_violation(e: BaseException) -> Violation | None:
    for sub in getattr(e, "exceptions", ()) or ():
        if isinstance(sub, ContractViolation):
            return sub.violation
    return None
