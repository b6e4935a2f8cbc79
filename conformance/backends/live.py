"""A wall-clock environment on a real backend: for the benchmark and the real-fault tests.

The conformance harness drives subjects on a *virtual* clock through its scheduler; here
instead time is real, workers are real threads, and faults are real (SIGKILL of Redis, the
TCP proxy). Measuring latency needs exactly that, and so does showing what a SIGKILL with
or without AOF does to acknowledged writes.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import attrs

from conformance.backends.stores import RedisStores
from conformance.errors import Crashed

__all__ = ["LiveEnv", "WallClock"]


@attrs.define(eq=False)
class WallClock:
    """Monotonic seconds; `sleep` raises Crashed in a crashed instance's workers."""

    crashed: threading.Event = attrs.field(factory=threading.Event)

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if self.crashed.wait(max(0.0, seconds)):
            raise Crashed("instance crashed")


@attrs.define(eq=False)
class LiveEnv:
    """The env contract on a :class:`RedisStores`, one per application instance.

    ``crash()`` makes this instance's workers unwind at their next sleep; build a new
    ``LiveEnv`` (same backend, same instance number) to recover.
    """

    backend: RedisStores
    instance: int = 0
    clock: WallClock = attrs.field(factory=WallClock)
    workers: list[threading.Thread] = attrs.field(factory=list)

    @property
    def cache(self) -> Any:
        return self.backend.cache

    @property
    def db(self) -> Any:
        return self.backend.db

    @property
    def redis(self) -> Any:
        return self.backend.redis

    @property
    def redis_keys(self) -> Any:
        return self.backend.keys

    @property
    def db_connection(self) -> Any:
        return self.backend.db.connection

    def durable_queue(self, name: str) -> Any:
        return self.backend.durable_queue(name)

    def lock(self) -> Any:
        return threading.Lock()

    def spawn(self, fn: Callable[[], Any]) -> threading.Thread:
        def run() -> None:
            try:
                fn()
            except Crashed:
                pass
            except (ConnectionError, TimeoutError):
                pass  # a worker killed by a real fault; the next instance recovers

        worker = threading.Thread(target=run, name=f"worker-{self.instance}", daemon=True)
        self.workers.append(worker)
        worker.start()
        return worker

    def crash(self, timeout: float = 5.0) -> None:
        self.clock.crashed.set()
        for worker in self.workers:
            worker.join(timeout)
