"""A concurrent batch: several clients' operations (and the due background workers)
interleaved one store step at a time by the scheduler.

The controller thread emits every event (invocations, completions, crashes) in the order
it happened, so the history is exact: an operation is invoked just before its first
step runs and completes right after its last step.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from model import Fail, Invoke, Ok, Violation

from conformance.errors import Crashed
from conformance.scheduler import CRASH, Blocked, Chooser, Task, start_thread
from conformance.scheduler import _local as sched_local

if TYPE_CHECKING:
    from conformance.run import Run

__all__ = ["Op", "run_batch"]

Op = tuple[str, str, "str | None", "str | None"]  # (client, kind, key, value)


def _client_body(run: "Run", task: Task, env_local: threading.local) -> None:
    sched_local.task = task
    env_local.instance = task.instance
    try:
        task.wait_first_turn()
        if task.instance.crashed:
            raise Crashed()
        for i, (kind, key, value) in enumerate(task.ops):
            if i:
                task.pause()  # the controller invokes the next operation when it picks us again
            subject = run.subjects[run.instances.index(task.instance)]
            try:
                if kind == "write":
                    r = subject.write(key, value)
                elif kind == "read":
                    r = subject.read(key)
                else:
                    fn = getattr(subject, "flush", None)
                    r = fn() if callable(fn) else None
                task.outcome = ("ok", r)
            except Crashed:
                raise
            except (ConnectionError, TimeoutError) as e:
                task.outcome = ("fail", e)
            except BaseException as e:  # noqa: BLE001 - judged by the controller
                task.outcome = ("error", e)
    except Crashed:
        task.outcome = ("crashed", None)
    finally:
        task.end()


def run_batch(run: "Run", ops: Sequence[Op], chooser: Chooser, allow_crash: bool = False) -> list[str]:
    """Run `ops` concurrently; return the schedule taken (task names, '!crash')."""
    from conformance.env import _local as env_local

    clients: dict[str, Task] = {}
    for client, kind, key, value in ops:
        t = clients.get(client)
        if t is None:
            t = clients[client] = Task(client, run.instances[run._index(client)], "client")
        t.ops.append((kind, key, value))
    for t in clients.values():
        start_thread(lambda t=t: _client_body(run, t, env_local), f"client-{t.name}")
    sched = run.env.scheduler
    taken: list[str] = []
    last: Task | None = None
    op_ids: dict[str, int] = {}
    sched.active = True
    try:
        while True:
            tasks = list(clients.values()) + [w for w in run.env.workers.tasks if not w.done]
            runnable = sched.runnable(tasks, run.clock.now())
            if not runnable:
                stuck = [t for t in tasks if not t.done and t.kind == "client"]
                if stuck:
                    run._violate(Violation("liveness", None, "every operation finishes",
                                           sched.deadlock_message(tasks)))
                break
            options = [t.name for t in runnable] + ([CRASH] if allow_crash else [])
            if hasattr(chooser, "tasks"):
                chooser.tasks = {t.name: t for t in tasks}  # type: ignore[attr-defined]
            name = chooser(options, last)
            taken.append(name)
            if name == CRASH:
                _crash(run, clients, op_ids)
                last = None
                continue
            task = next(t for t in runnable if t.name == name)
            if task.kind == "client" and not task.invoked:
                kind, key, value = task.ops[task.next_op]
                run._op += 1
                op_ids[task.name] = run._op
                task.invoked = True
                run._feed(Invoke(run._op, task.name, kind, key, value, run.clock.now()))  # type: ignore[arg-type]
            try:
                sched.turn(task)
            except Blocked as e:
                run._violate(Violation("liveness", None, "tasks reach their next step", str(e)))
            if task.error is not None:
                err, task.error = task.error, None
                run._violate(Violation("subject-error", None, "workers raise only store errors",
                                       f"worker {task.name} raised {type(err).__name__}: {err}"))
            if task.kind == "client" and task.outcome is not None:
                _complete(run, task, op_ids[task.name])
            last = task
    except BaseException:
        # A violation, a schedule that does not fit, or Hypothesis stopping the example:
        # the run is over; unwind the paused clients so no lock stays held by a ghost.
        run.failed = True
        sched.active = False
        _abandon(clients)
        raise
    finally:
        sched.active = False
    return taken


def _complete(run: "Run", task: Task, op: int) -> None:
    what, value = task.outcome  # type: ignore[misc]
    task.outcome = None
    kind, key, _ = task.ops[task.next_op]
    task.next_op += 1
    task.invoked = False
    now = run.clock.now()
    if what == "ok":
        if kind == "read" and value is not None and not isinstance(value, str):
            run._violate(Violation("subject-error", key, "read returns str or None",
                                   f"read({key!r}) returned {value!r} ({type(value).__name__})"))
        run._feed(Ok(op, value if kind == "read" else None, now))
    elif what in ("fail", "crashed"):
        run._feed(Fail(op, "crashed" if what == "crashed" else f"{type(value).__name__}: {value}", now))
    else:
        run._violate(Violation("subject-error", key, f"{kind} returns or raises a store error",
                               f"{task.name}: it raised {type(value).__name__}: {value}"))


def _crash(run: "Run", clients: dict[str, Task], op_ids: dict[str, int]) -> None:
    """A crash at this step: every instance dies mid-operation; in-flight operations
    become indeterminate; operations not started yet are never invoked."""
    for inst in run.instances:
        inst.crashed = True
    for t in clients.values():
        if not t.done:
            run.env.scheduler.turn(t)  # it raises Crashed where it waits and unwinds
        if t.invoked:
            t.outcome = ("crashed", None)
            _complete(run, t, op_ids[t.name])
    run._crash_and_recover()
    # The clients themselves live on (they are the users): each goes on with its next
    # operation against the recovered instance.
    for name, t in list(clients.items()):
        rest = t.ops[t.next_op:]
        if rest:
            fresh = Task(name, run.instances[run._index(name)], "client")
            fresh.ops = list(rest)
            clients[name] = fresh
            start_thread(lambda fresh=fresh: _client_body(run, fresh, _env_local()), f"client-{name}")


def _env_local() -> threading.local:
    from conformance.env import _local

    return _local


def _abandon(clients: dict[str, Task]) -> None:
    for t in clients.values():
        if t.instance is not None:
            t.instance.crashed = True
        if not t.done:
            t.release()
