"""The Python side of a subject process: a subject object the harness drives like any
other, and the server that turns the process's store requests into calls on `env`.

Every request is served by calling `env` on the thread that waits for the operation (or on
the worker the harness runs for a spawned task), so each store request is a scheduler step
exactly as a Python subject's call is: faults hit it, a batch interleaves at it, a crash
unwinds at it. Only the public env contract is used (docs/ENVIRONMENT.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.exec.link import Link, Server
from conformance.exec.wire import ProtocolError, check_args, store_error_kind

__all__ = ["EnvServer", "ExecSubject"]


class EnvServer(Server):
    """Answers one session's store requests from `env` (one per factory call)."""

    def __init__(self, env: Any, link: Link):
        self.env = env
        self.link = link
        self._locks: dict[str, Any] = {}
        self._queues: dict[str, Any] = {}
        cache, db, clock = env.cache, env.db, env.clock
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "cache.get": lambda a: cache.get(a["key"]),
            "cache.set": lambda a: cache.set(a["key"], a["value"], a.get("ttl")),
            "cache.delete": lambda a: cache.delete(a["key"]),
            "cache.cas": lambda a: cache.cas(a["key"], a.get("expected"), a["value"], a.get("ttl")),
            "db.get": lambda a: db.get(a["key"]),
            "db.put": lambda a: db.put(a["key"], a["value"], a.get("version")),
            "db.put_many": lambda a: db.put_many([tuple(it) if len(it) == 2 or it[2] is not None else tuple(it[:2])
                                                  for it in a["items"]]),
            "db.delete": lambda a: db.delete(a["key"]),
            "queue.push": lambda a: self._queue(a).push(a["item"]),
            "queue.peek": lambda a: list(self._queue(a).peek(a["n"])),
            "queue.ack": lambda a: self._queue(a).ack(a["n"]),
            "queue.len": lambda a: len(self._queue(a)),
            "clock.now": lambda a: clock.now(),
            "clock.sleep": lambda a: clock.sleep(a["seconds"]),
            "lock": lambda a: self._lock(a).acquire(),
            "unlock": lambda a: self._lock(a).release(),
            "spawn": lambda a: self._spawn(),
        }

    def _queue(self, args: dict[str, Any]) -> Any:
        name = args["queue"]
        q = self._queues.get(name)
        if q is None:
            q = self._queues[name] = self.env.durable_queue(name)
        return q

    def _lock(self, args: dict[str, Any]) -> Any:
        name = args["lock"]
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = self.env.lock()
        return lock

    def _spawn(self) -> str:
        caps = self.link.caps
        if caps is not None and not caps.workers:
            raise ProtocolError("the subject spawned a worker, but its hello did not declare the capability "
                                "\"workers\"")
        link = self.link
        task = link.new_task()
        self.env.spawn(lambda: link.run_worker(self, task))
        return task

    def answer(self, link: Link, task: str, msg: dict[str, Any]) -> None:
        target = msg.get("target")
        args = check_args(target, msg.get("args"))  # type: ignore[arg-type]
        try:
            value = self._handlers[target](args)  # type: ignore[index]
        except Exception as e:  # noqa: BLE001 - store failures cross the wire, the rest is the harness's
            kind = store_error_kind(e)
            if kind is None:
                raise
            link.reply_error(msg["id"], kind, str(e))
            return
        if target == "lock":
            value = None
        link.reply(msg["id"], value)


class ExecSubject:
    """A subject process seen as a subject (docs/ENVIRONMENT.md): each method sends one
    operation and serves the process's store requests until it answers.

    `flush` and `delete` exist only if the process's hello declares them; `durable` and
    `fill_ttl` come from the hello too."""

    def __init__(self, link: Link, server: EnvServer, label: str):
        self._link = link
        self._server = server
        self._label = label
        caps = link.caps
        assert caps is not None
        self.durable = caps.durable
        if caps.fill_ttl is not None:
            self.fill_ttl = caps.fill_ttl
        if caps.flush:
            self.flush = self._flush
        if caps.delete:
            self.delete = self._delete

    def write(self, key: str, value: str) -> None:
        self._link.operate(self._server, "write", {"key": key, "value": value})

    def read(self, key: str) -> str | None:
        return self._link.operate(self._server, "read", {"key": key})  # type: ignore[no-any-return]

    def _delete(self, key: str) -> None:
        self._link.operate(self._server, "delete", {"key": key})

    def _flush(self) -> None:
        self._link.operate(self._server, "flush", {})

    def close(self) -> None:
        if self._link.reusable():
            self._link.operate(self._server, "close", {})

    def __repr__(self) -> str:
        return f"<ExecSubject {self._label} pid {self._link.proc.pid}>"
