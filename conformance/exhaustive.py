"""Exhaustive exploration of the interleavings of one small concurrent scenario, depth
first, with a preemption bound (the CHESS/Shuttle/Loom idea: most concurrency bugs need
few preemptions, and bounding them keeps the search finite and small).

Every schedule runs on a fresh subject: the optional set-up steps, the batch under the
schedule, a read of every key, then `finish()`. The first schedule the contract rejects is
returned with its runnable counterexample; if the search ends without one, the verdict is
CONFORMS *for that scenario and bound*; if it hits `max_schedules`, it is UNKNOWN.

The search strategy itself (`DFSChooser`, `next_prefix`) is conformance.strategies'.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from model import CONFORMS, UNKNOWN, VIOLATES, Policy, Verdict
from model.vocabulary import FLUSH, OPERATIONS, WRITE

from conformance.backend import Backend
from conformance.errors import UsageError
from conformance.outcome import CheckReport, judge
from conformance.run import Run
from conformance.strategies import Decision, DFSChooser, next_prefix
from conformance.target import Target, resolve_target

__all__ = ["explore_schedules", "parse_ops", "Decision"]


def parse_ops(text: str) -> list[tuple[str, str, str | None, str | None]]:
    """'c0:write:k0 c1:read:k0 c0:flush' -> [(client, kind, key, value)]; written values are
    made unique (w1, w2, ...)."""
    ops = []
    n = 0
    for part in text.replace(",", " ").split():
        fields = part.split(":")
        if len(fields) < 2 or fields[1] not in OPERATIONS or (fields[1] != FLUSH and len(fields) < 3):
            raise UsageError(f"bad operation {part!r}: expected client:write:key, client:read:key, "
                             "client:delete:key or client:flush")
        client, kind = fields[0], fields[1]
        key = fields[2] if kind != FLUSH else None
        value = None
        if kind == WRITE:
            n += 1
            value = f"w{n}"
        ops.append((client, kind, key, value))
    if len({o[0] for o in ops}) < 2:
        raise UsageError("an exhaustive scenario needs operations of at least two clients")
    return ops


def explore_schedules(target: Target | str | Callable[..., Any], policy: str | Policy | None, ops: Sequence[tuple],
                      *, preemptions: int = 2, max_schedules: int = 5000, crash: bool = False, instances: int = 1,
                      setup: Sequence[tuple[str, tuple]] = (), op_timeout: float = 2.0,
                      initial: dict[str, str] | None = None, backend: Backend | None = None) -> CheckReport:
    """Run `ops` under every schedule with at most `preemptions` preemptions.

    Raises:
        UsageError: a bad bound, target or policy (one line, before anything runs); a
            subject whose choices differ on replay.
    """
    if preemptions < 0 or max_schedules < 1:
        raise UsageError("preemptions must be >= 0 and max_schedules >= 1")
    subject = resolve_target(target, policy)
    label, pol = subject.label, subject.policy.name
    keys = tuple(sorted({o[2] for o in ops if o[2] is not None})) or ("k0",)
    started = time.perf_counter()
    prefix: list[str] | None = []
    count = steps = 0
    while prefix is not None:
        if count >= max_schedules:
            return CheckReport(target=label, policy=pol,
                               verdict=Verdict(UNKNOWN, reason=f"{max_schedules} schedules explored, more remain"),
                               examples=count, steps=steps, seconds=time.perf_counter() - started,
                               note=f"exhaustive, preemption bound {preemptions}")
        count += 1
        run = Run(subject, keys=keys, op_timeout=op_timeout, instances=instances, initial=initial, backend=backend)
        chooser = DFSChooser(prefix)

        def schedule(run: Run = run, chooser: DFSChooser = chooser) -> None:
            for name, args in setup:
                getattr(run, name)(*args)
            run.concurrent(list(ops), chooser=chooser, allow_crash=crash)
            for k in keys:
                run.read(k)
            run.finish()

        try:
            judged = judge(schedule)
        finally:
            run.close()
        if judged.verdict.status == VIOLATES:
            return CheckReport(target=label, policy=pol, verdict=judged.verdict, examples=count,
                               steps=steps + len(run.lines), seconds=time.perf_counter() - started,
                               counterexample=judged.script,
                               note=f"exhaustive, preemption bound {preemptions}: schedule {count}",
                               history=tuple(run.events), trace=tuple(run.env.trace))
        if judged.verdict.status == UNKNOWN:
            return CheckReport(target=label, policy=pol, verdict=judged.verdict, examples=count, steps=steps,
                               seconds=time.perf_counter() - started)
        steps += len(run.lines)
        prefix = next_prefix(chooser.decisions, preemptions)
    return CheckReport(target=label, policy=pol, verdict=Verdict(CONFORMS), examples=count, steps=steps,
                       seconds=time.perf_counter() - started,
                       note=f"exhaustive: all {count} schedules with at most {preemptions} preemptions"
                            f"{' and a crash at any step' if crash else ''}")
