"""A concurrent batch: several clients' operations (and the due background workers)
interleaved one store step at a time by the scheduler, as a strategy chooses.

The controller thread records every event (invocations, completions, crashes) in the
order it happened, so the history is exact: an operation is invoked just before its
first step runs and completes right after its last step.

The batch runs on a `BatchHost` (a `Run`), through its public interface only: its
recorder, its environment, which instance and subject serve a client, and how the
application recovers from a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from model import Violation
from model.vocabulary import DELETE, READ, WRITE

from conformance.calls import context
from conformance.errors import Crashed
from conformance.recorder import CRASHED, Operation, Raised, Recorder, Returned
from conformance.scheduler import Blocked, Task, set_current_task, start_thread
from conformance.strategies import CRASH, Chooser

if TYPE_CHECKING:
    from conformance.env import Environment, Instance

__all__ = ["Op", "BatchHost", "run_batch"]

Op = tuple[str, str, "str | None", "str | None"]  # (client, kind, key, value)


class BatchHost(Protocol):
    """What a batch needs of the run it belongs to."""

    recorder: Recorder
    env: Environment

    @property
    def instances(self) -> Sequence[Instance]: ...

    def instance_for(self, client: str) -> Instance:
        """The application instance that serves `client`."""
        ...

    def subject_for(self, instance: Instance) -> Any:
        """The subject `instance` runs now (a crash replaces it)."""
        ...

    def recover(self) -> None:
        """Every instance has crashed: record the crash and build new subjects."""
        ...


def _client_body(host: BatchHost, task: Task) -> None:
    # On the client's own thread: runs its operations, each when the controller invokes it,
    # and leaves each outcome on the task for the controller to record.
    set_current_task(task)
    context.instance = task.instance
    try:
        task.wait_first_turn()
        if task.instance.crashed:
            raise Crashed()
        for i, (kind, key, value) in enumerate(task.ops):
            if i:
                task.pause()  # the controller invokes the next operation when it picks us again
            subject = host.subject_for(task.instance)
            try:
                if kind == WRITE:
                    r = subject.write(key, value)
                elif kind == READ:
                    r = subject.read(key)
                elif kind == DELETE:
                    r = subject.delete(key)
                else:
                    fn = getattr(subject, "flush", None)
                    r = fn() if callable(fn) else None
                task.outcome = Returned(r)
            except Crashed:
                raise
            except BaseException as e:  # noqa: BLE001 - judged by the controller (conformance.failures)
                task.outcome = Raised(e)
    except Crashed:
        task.outcome = CRASHED
    finally:
        task.end()


def _start_client(host: BatchHost, name: str, ops: list[Any]) -> Task:
    task = Task(name, host.instance_for(name), "client")
    task.ops = ops
    start_thread(lambda: _client_body(host, task), f"client-{name}")
    return task


def run_batch(host: BatchHost, ops: Sequence[Op], chooser: Chooser, allow_crash: bool = False,
              taken: list[str] | None = None) -> list[str]:
    """Run `ops` concurrently; return the schedule taken (task names, '!crash').

    Args:
        taken: the list each choice is appended to as it is made (so a caller can print
            the schedule so far when the batch ends in a violation); default a new one.

    Raises:
        ContractViolation, LivenessFailure: from the recorder, as soon as one is seen.
        ScheduleMismatch: the chooser follows a schedule that does not fit.
    """
    recorder = host.recorder
    env = host.env
    by_client: dict[str, list[Any]] = {}
    for client, kind, key, value in ops:
        by_client.setdefault(client, []).append((kind, key, value))
    clients = {name: _start_client(host, name, client_ops) for name, client_ops in by_client.items()}
    sched = env.scheduler
    taken = [] if taken is None else taken
    last: Task | None = None
    op_ids: dict[str, int] = {}
    sched.active = True
    try:
        while True:
            tasks = list(clients.values()) + [w for w in env.workers.tasks if not w.done]
            runnable = sched.runnable(tasks, env.clock.now())
            if not runnable:
                stuck = [t for t in tasks if not t.done and t.kind == "client"]
                if stuck:
                    recorder.violate(Violation("liveness", None, "every operation finishes",
                                               sched.deadlock_message(tasks)))
                break
            options = [t.name for t in runnable] + ([CRASH] if allow_crash else [])
            if hasattr(chooser, "tasks"):
                chooser.tasks = {t.name: t for t in tasks}  # type: ignore[attr-defined]
            name = chooser(options, last)
            taken.append(name)
            if name == CRASH:
                _crash(host, clients, op_ids)
                last = None
                continue
            task = next(t for t in runnable if t.name == name)
            if task.kind == "client" and not task.invoked:
                task.invoked = True
                op_ids[task.name] = recorder.invoke(_operation(task))
            try:
                sched.turn(task)
            except Blocked as e:
                recorder.violate(Violation("liveness", None, "tasks reach their next step", str(e)))
            if task.error is not None:
                err, task.error = task.error, None
                recorder.violate(Violation("subject-error", None, "workers raise only store errors",
                                           f"worker {task.name} raised {type(err).__name__}: {err}",
                                           place=recorder.locate(err)))
            if task.kind == "client" and task.outcome is not None:
                _complete(recorder, task, op_ids[task.name])
            last = task
    except BaseException:
        # A violation, a schedule that does not fit, or Hypothesis stopping the example:
        # the run is over; unwind the paused clients so no lock stays held by a ghost.
        recorder.failed = True
        sched.active = False
        _abandon(clients)
        raise
    finally:
        sched.active = False
    return taken


def _operation(task: Task) -> Operation:
    kind, key, value = task.ops[task.next_op]
    return Operation(task.name, kind, key, value)


def _complete(recorder: Recorder, task: Task, op: int) -> None:
    outcome, task.outcome = task.outcome, None
    operation = _operation(task)
    task.next_op += 1
    task.invoked = False
    recorder.complete(op, operation, outcome, lane=task.name)


def _crash(host: BatchHost, clients: dict[str, Task], op_ids: dict[str, int]) -> None:
    """A crash at this step: every instance dies mid-operation; in-flight operations
    become indeterminate; operations not started yet are never invoked."""
    for inst in host.instances:
        inst.crashed = True
    for t in clients.values():
        if not t.done:
            host.env.scheduler.turn(t)  # it raises Crashed where it waits and unwinds
        if t.invoked:
            t.outcome = CRASHED
            _complete(host.recorder, t, op_ids[t.name])
    host.recover()
    # The clients themselves live on (they are the users): each goes on with its next
    # operation against the recovered instance.
    for name, t in list(clients.items()):
        rest = t.ops[t.next_op:]
        if rest:
            clients[name] = _start_client(host, name, list(rest))


def _abandon(clients: dict[str, Task]) -> None:
    for t in clients.values():
        if t.instance is not None:
            t.instance.crashed = True
        if not t.done:
            t.release()
