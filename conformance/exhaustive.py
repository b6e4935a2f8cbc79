"""Exhaustive exploration of the interleavings of one small concurrent scenario, depth
first, with a preemption bound (the CHESS/Shuttle/Loom idea: most concurrency bugs need
few preemptions, and bounding them keeps the search finite and small).

Every schedule runs on a fresh subject: the optional set-up steps, the batch under the
schedule, a read of every key, then `finish()`. The first schedule the contract rejects is
returned with its runnable counterexample; if the search ends without one, the verdict is
CONFORMS *for that scenario and bound*; if it hits `max_schedules`, it is UNKNOWN.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from attrs import frozen

from model import CONFORMS, UNKNOWN, VIOLATES, Verdict

from conformance.check import CheckReport
from conformance.errors import UsageError
from conformance.run import ContractViolation, Inconclusive, LivenessFailure, Run
from conformance.scheduler import CRASH, Task
from conformance.target import load_factory

__all__ = ["explore_schedules", "parse_ops", "Decision"]


@frozen
class Decision:
    options: tuple[str, ...]  # default first: the last task if it can go on, then by name
    index: int
    last: str | None
    preemptions: int  # before this decision


class _DFSChooser:
    def __init__(self, prefix: Sequence[str]):
        self.prefix = list(prefix)
        self.decisions: list[Decision] = []
        self.preemptions = 0
        self.crashed = False

    def __call__(self, options: Sequence[str], last: Task | None) -> str:
        if self.crashed:
            options = [o for o in options if o != CRASH]  # one crash per schedule
        last_name = last.name if last is not None and last.name in options else None
        ordered = ([last_name] if last_name else []) + sorted(o for o in options if o != last_name)
        i = len(self.decisions)
        pick = self.prefix[i] if i < len(self.prefix) else ordered[0]
        if pick not in ordered:
            raise UsageError(f"nondeterministic subject: schedule choice {pick!r} is not available on replay")
        self.decisions.append(Decision(tuple(ordered), ordered.index(pick), last_name, self.preemptions))
        if _costs(pick, last_name):
            self.preemptions += 1
        self.crashed = self.crashed or pick == CRASH
        return pick


def _costs(pick: str, last: str | None) -> bool:
    # Switching away from a task that could go on is a preemption; so is a crash.
    return pick == CRASH or (last is not None and pick != last)


def _next_prefix(decisions: list[Decision], bound: int) -> list[str] | None:
    for j in range(len(decisions) - 1, -1, -1):
        d = decisions[j]
        for k in range(d.index + 1, len(d.options)):
            cost = d.preemptions + _costs(d.options[k], d.last)
            if cost <= bound:
                return [x.options[x.index] for x in decisions[:j]] + [d.options[k]]
    return None


def parse_ops(text: str) -> list[tuple[str, str, str | None, str | None]]:
    """'c0:write:k0 c1:read:k0 c0:flush' -> [(client, kind, key, value)]; written values are
    made unique (w1, w2, ...)."""
    ops = []
    n = 0
    for part in text.replace(",", " ").split():
        fields = part.split(":")
        if len(fields) < 2 or fields[1] not in ("write", "read", "flush") or (fields[1] != "flush" and len(fields) < 3):
            raise UsageError(f"bad operation {part!r}: expected client:write:key, client:read:key or client:flush")
        client, kind = fields[0], fields[1]
        key = fields[2] if kind != "flush" else None
        value = None
        if kind == "write":
            n += 1
            value = f"w{n}"
        ops.append((client, kind, key, value))
    if len({o[0] for o in ops}) < 2:
        raise UsageError("an exhaustive scenario needs operations of at least two clients")
    return ops


def explore_schedules(target: Any, policy: str, ops: Sequence[tuple], *, preemptions: int = 2,
                      max_schedules: int = 5000, crash: bool = False, instances: int = 1,
                      setup: Sequence[tuple[str, tuple]] = (), op_timeout: float = 2.0,
                      initial: dict[str, str] | None = None, backend: Any = None) -> CheckReport:
    """Run `ops` under every schedule with at most `preemptions` preemptions."""
    if preemptions < 0 or max_schedules < 1:
        raise UsageError("preemptions must be >= 0 and max_schedules >= 1")
    factory, label = load_factory(target)
    keys = tuple(sorted({o[2] for o in ops if o[2] is not None})) or ("k0",)
    started = time.perf_counter()
    prefix: list[str] | None = []
    count = steps = 0
    while prefix is not None:
        if count >= max_schedules:
            return CheckReport(label, policy, Verdict(UNKNOWN, reason=f"{max_schedules} schedules explored, more remain"),
                               count, steps, time.perf_counter() - started, None, None,
                               f"exhaustive, preemption bound {preemptions}")
        count += 1
        run = Run(factory, policy, keys=keys, op_timeout=op_timeout, instances=instances, initial=initial,
                  backend=backend)
        run.label = label
        chooser = _DFSChooser(prefix)
        try:
            for name, args in setup:
                getattr(run, name)(*args)
            run.concurrent(list(ops), chooser=chooser, allow_crash=crash)
            for k in keys:
                run.read(k)
            run.finish()
        except (ContractViolation, LivenessFailure) as e:
            run.close()
            return CheckReport(label, run.policy.name, Verdict(VIOLATES, e.violation), count, steps + len(run.lines),
                               time.perf_counter() - started, e.script, None,
                               f"exhaustive, preemption bound {preemptions}: schedule {count}",
                               tuple(run.events), tuple(run.env.trace))
        except Inconclusive as e:
            run.close()
            return CheckReport(label, run.policy.name, Verdict(UNKNOWN, reason=str(e)), count, steps,
                               time.perf_counter() - started, None, None, None)
        finally:
            run.close()
        steps += len(run.lines)
        prefix = _next_prefix(chooser.decisions, preemptions)
    return CheckReport(label, policy, Verdict(CONFORMS), count, steps, time.perf_counter() - started, None, None,
                       f"exhaustive: all {count} schedules with at most {preemptions} preemptions"
                       f"{' and a crash at any step' if crash else ''}")



