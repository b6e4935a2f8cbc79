"""A small scripted environment for driving the seed ports step by step in tests.

Not the harness: no Hypothesis, no oracle. It exists so that each seed's mistake can be
shown as a fixed script (write, fault, advance the clock, read) whose outcome a test
asserts, independently of the conformance machinery. Workers run in threads, but only one
thing runs at a time: a worker runs when `advance` wakes it and until it sleeps again.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["ScriptedEnv", "Crashed"]


class Crashed(BaseException):
    """Unwinds a worker of a crashed instance (a BaseException, as the harness's is)."""


class _Clock:
    def __init__(self, env: ScriptedEnv) -> None:
        self._env = env
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        worker = self._env.current_worker()
        if worker is None:  # a client sleeping: time simply passes
            self._env.advance(seconds)
            return
        worker.park(self.t + seconds)


class _Worker:
    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.deadline: float | None = None
        self.done = False
        self.crashed = False
        self._go = threading.Semaphore(0)
        self._yielded = threading.Semaphore(0)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.fn()
        except Crashed:
            pass
        finally:
            self.done = True
            self._yielded.release()

    def start(self) -> None:
        self.thread.start()
        self._yielded.acquire()

    def park(self, deadline: float) -> None:
        self.deadline = deadline
        self._yielded.release()
        self._go.acquire()
        if self.crashed:
            raise Crashed()

    def resume(self) -> None:
        self.deadline = None
        self._go.release()
        self._yielded.acquire()


class _Store:
    """Shared store state with a fault switch and one-shot hooks.

    `fault`: None, "down" (ConnectionError, no effect), "timeout" (TimeoutError, no
    effect) or "timeout-after" (the call takes effect, then TimeoutError). `after(method,
    fn)` runs `fn` once right after the next call of `method` took effect: a preemption at
    that step, used to interleave another client's operation exactly there.
    """

    def __init__(self) -> None:
        self.fault: str | None = None
        self._hooks: dict[str, list[Callable[[], None]]] = {}

    def after(self, method: str, fn: Callable[[], None]) -> None:
        self._hooks.setdefault(method, []).append(fn)

    def _enter(self) -> None:
        if self.fault == "down":
            raise ConnectionError("store down (scripted)")
        if self.fault == "timeout":
            raise TimeoutError("store timeout (scripted; no effect)")

    def _leave(self, method: str) -> None:
        hooks = self._hooks.pop(method, [])
        for hook in hooks:
            hook()
        if self.fault == "timeout-after":
            raise TimeoutError("store timeout (scripted; the call took effect)")


class _Cache(_Store):
    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self._clock = clock
        self.data: dict[str, tuple[str, float | None]] = {}

    def get(self, key: str) -> str | None:
        self._enter()
        entry = self.data.get(key)
        if entry is None or (entry[1] is not None and entry[1] <= self._clock.now()):
            value = None
        else:
            value = entry[0]
        self._leave("get")
        return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._enter()
        self.data[key] = (value, None if ttl is None else self._clock.now() + ttl)
        self._leave("set")

    def delete(self, key: str) -> None:
        self._enter()
        self.data.pop(key, None)
        self._leave("delete")


class _DB(_Store):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.puts = 0

    def get(self, key: str) -> str | None:
        self._enter()
        value = self.data.get(key)
        self._leave("get")
        return value

    def put(self, key: str, value: str, version: int | None = None) -> None:
        self._enter()
        self.data[key] = value
        self.puts += 1
        self._leave("put")

    def put_many(self, items: Any) -> None:
        self._enter()
        for key, value, *_ in items:
            self.data[key] = value
            self.puts += 1
        self._leave("put_many")

    def delete(self, key: str) -> None:
        self._enter()
        self.data.pop(key, None)
        self._leave("delete")


class _Queue:
    def __init__(self, cache: _Cache) -> None:
        self._cache = cache  # the queue lives with the cache server: its faults apply
        self.items: deque[str] = deque()

    def push(self, item: str) -> None:
        self._cache._enter()  # a fault of the cache server reaches its queue
        self.items.append(item)

    def peek(self, n: int) -> list[str]:
        self._cache._enter()
        return list(self.items)[:n]

    def ack(self, n: int) -> None:
        self._cache._enter()
        for _ in range(min(n, len(self.items))):
            self.items.popleft()

    def __len__(self) -> int:
        return len(self.items)


class ScriptedEnv:
    """The env contract over dicts, a virtual clock and step-wise workers."""

    def __init__(self) -> None:
        self.clock = _Clock(self)
        self.cache = _Cache(self.clock)
        self.db = _DB()
        self.instance = 0
        self.queues: dict[str, _Queue] = {}
        self.workers: list[_Worker] = []
        self._running: _Worker | None = None

    def durable_queue(self, name: str) -> _Queue:
        return self.queues.setdefault(name, _Queue(self.cache))

    def lock(self) -> threading.RLock:
        return threading.RLock()

    def spawn(self, fn: Callable[[], None]) -> _Worker:
        worker = _Worker(fn)
        self.workers.append(worker)
        previous, self._running = self._running, worker
        try:
            worker.start()  # runs until its first sleep
        finally:
            self._running = previous
        return worker

    def current_worker(self) -> _Worker | None:
        return self._running

    def advance(self, seconds: float) -> None:
        """Move the clock forward, waking each due worker in deadline order."""
        end = self.clock.t + seconds
        while True:
            due = [w for w in self.workers if not w.done and w.deadline is not None and w.deadline <= end]
            if not due:
                break
            worker = min(due, key=lambda w: w.deadline or 0.0)
            self.clock.t = max(self.clock.t, worker.deadline or 0.0)
            previous, self._running = self._running, worker
            try:
                worker.resume()
            finally:
                self._running = previous
        self.clock.t = end

    def crash(self) -> None:
        """The application dies: its workers unwind; the stores survive."""
        for worker in self.workers:
            if not worker.done:
                worker.crashed = True
                worker.resume()
        self.workers.clear()
