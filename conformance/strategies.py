"""Scheduling strategies: who runs next when several tasks of a concurrent batch could.

A strategy is a `Chooser`, `chooser(options, last) -> name`: `options` are the names of the
tasks that can take a step now (and `CRASH` when a crash may happen here), `last` the task
that took the previous step. The batch (conformance.batch) asks it before every step, so
a strategy decides the whole interleaving and nothing else does: the same choices replay
the same run. The mechanism that carries a choice out is conformance.scheduler's.

* `first_runnable`: no preemption (sequential-looking runs, and after a replay ends);
* `DrawnChooser`: drawn by Hypothesis, so a schedule shrinks with the rest of the example;
* `PCTChooser`: probabilistic concurrency testing, priorities from a drawn seed;
* `ReplayChooser`: a printed schedule (task names and '!fault' entries);
* `StoreStepChooser`: a proof scenario's schedule of store calls;
* `DFSChooser`: depth-first search with a preemption bound (conformance.exhaustive).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from attrs import frozen
from hypothesis import strategies as st

from model.vocabulary import CRASH as _CRASH_FAULT

from conformance.errors import UsageError

if TYPE_CHECKING:
    from conformance.scheduler import Task

__all__ = [
    "CRASH", "Chooser", "ScheduleMismatch", "first_runnable", "DrawnChooser", "PCTChooser",
    "ReplayChooser", "StoreStepChooser", "DFSChooser", "Decision", "next_prefix",
]

#: The choice "the application crashes here", offered beside the task names.
CRASH = "!" + _CRASH_FAULT


class ScheduleMismatch(UsageError):
    """A replayed schedule names a task that cannot run at that point."""


Chooser = Callable[[Sequence[str], "Task | None"], str]


def first_runnable(options: Sequence[str], last: "Task | None") -> str:
    """No preemption: keep running the last task while it can, else the first one."""
    if last is not None and last.name in options:
        return last.name
    return next(o for o in options if o != CRASH)


class ReplayChooser:
    """Follows a recorded schedule (task names, and `!fault` entries), then `first_runnable`."""

    def __init__(self, schedule: Sequence[str], on_fault: Callable[[str], None] | None = None):
        self.schedule = list(schedule)
        self.i = 0
        self.on_fault = on_fault

    def __call__(self, options: Sequence[str], last: "Task | None") -> str:
        while self.i < len(self.schedule) and self.schedule[self.i].startswith("!") and self.schedule[self.i] != CRASH:
            fault = self.schedule[self.i][1:]
            self.i += 1
            if self.on_fault is None:
                raise ScheduleMismatch(f"schedule entry '!{fault}' needs a fault hook")
            self.on_fault(fault)
        if self.i >= len(self.schedule):
            return first_runnable(options, last)
        want = self.schedule[self.i]
        self.i += 1
        if want not in options:
            raise ScheduleMismatch(
                f"the schedule does not match the subject: step {self.i} names {want!r}, but only "
                f"{', '.join(o for o in options if o != CRASH) or 'nothing'} can run there")
        return want


class StoreStepChooser:
    """Follows a schedule whose entries are *store calls*: each entry lets that client run
    until it has made its next store call (the format of exported proof traces,
    docs/PROOFS.md). `faults` maps a count of entries to the faults injected before the
    next one; a 'crash' fault is the '!crash' choice."""

    def __init__(self, schedule: Sequence[str], faults: dict[int, list[str]],
                 on_fault: Callable[[str], None]):
        self.schedule = list(schedule)
        self.faults = {k: list(v) for k, v in faults.items()}
        self.on_fault = on_fault
        self.i = 0
        self.tasks: dict[str, Task] = {}

    def __call__(self, options: Sequence[str], last: "Task | None") -> str:
        due = self.faults.get(self.i, [])
        while due:
            fault = due.pop(0)
            if fault == "crash":
                if CRASH not in options:
                    raise ScheduleMismatch(f"a crash before store call {self.i + 1} cannot happen here")
                return CRASH
            self.on_fault(fault)
        if self.i >= len(self.schedule):
            return first_runnable(options, last)
        # The models have no background workers: while the schedule lasts, only the
        # clients it names move.
        options = [o for o in options if self.tasks.get(o) is None or self.tasks[o].kind == "client"]
        want = self.schedule[self.i]
        if want not in options:
            raise ScheduleMismatch(
                f"the schedule does not match the subject: store call {self.i + 1} is {want!r}'s, but only "
                f"{', '.join(o for o in options if o != CRASH) or 'nothing'} can run there")
        task = self.tasks.get(want)
        if task is not None and task.at_step:
            self.i += 1  # this turn makes the store call the entry names
        return want


class PCTChooser:
    """Probabilistic concurrency testing: random task priorities, lowered at `depth - 1`
    random change points; the highest-priority runnable task runs (Burckhardt et al. 2010)."""

    def __init__(self, seed: int, depth: int = 3, max_steps: int = 200):
        self.rng = random.Random(seed)
        self.priority: dict[str, float] = {}
        self.changes = set(self.rng.sample(range(1, max_steps), max(0, depth - 1)))
        self.step = 0

    def __call__(self, options: Sequence[str], last: "Task | None") -> str:
        self.step += 1
        names = [o for o in options if o != CRASH]
        for n in names:
            self.priority.setdefault(n, self.rng.random() + 1.0)
        if self.step in self.changes and last is not None and last.name in self.priority:
            self.priority[last.name] = -self.step  # below every initial priority
        return max(names, key=lambda n: self.priority[n])


@frozen
class Decision:
    """One choice of a depth-first schedule: what could run, what was picked."""

    options: tuple[str, ...]  # default first: the last task if it can go on, then by name
    index: int
    last: str | None
    preemptions: int  # before this decision


class DFSChooser:
    """Depth-first search of the schedules of one scenario (conformance.exhaustive): follow
    `prefix`, then always the default choice, and record every decision so that
    `next_prefix` can name the next schedule to run.

    The default is to keep running the last task (no preemption), then the others by
    name, so the search starts from the schedule with no preemption at all and each
    decision's alternatives are tried in a fixed order: the same subject gives the same
    sequence of schedules, which is what lets a prefix be replayed."""

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


def next_prefix(decisions: list[Decision], bound: int) -> list[str] | None:
    """The prefix of the next schedule after the one that made `decisions`, within `bound`
    preemptions; None when the search is over."""
    for j in range(len(decisions) - 1, -1, -1):
        d = decisions[j]
        for k in range(d.index + 1, len(d.options)):
            cost = d.preemptions + _costs(d.options[k], d.last)
            if cost <= bound:
                return [x.options[x.index] for x in decisions[:j]] + [d.options[k]]
    return None


class DrawnChooser:
    """Choices drawn by Hypothesis from the example's data, so that a schedule shrinks with
    the rest of the example.

    Mostly keep running the last task, and preempt it one time in four: races that need a
    long run, a switch, and a long run again (the stale fill) are far likelier than under
    a uniform choice per step, and shrinking (towards 0: "no preemption") removes
    switches. A crash is offered last, so shrinking moves away from it."""

    def __init__(self, data: st.DataObject):
        self.data = data

    def __call__(self, options: Sequence[str], last: "Task | None") -> str:
        if last is not None and last.name in options and len(options) > 1:
            if self.data.draw(st.integers(0, 3), label="preempt") < 3:
                return last.name
            options = [o for o in options if o != last.name]
        ordered = sorted(options, key=lambda o: o == CRASH)
        return self.data.draw(st.sampled_from(ordered), label="schedule")
