"""Hand-made interleavings for implementation tests, without the scheduler.

`Stores` builds the harness's in-memory stores and lets a test run code *inside* one store
call of a subject: just before (or after) the raw DB applies a given operation, a one-shot
hook runs, typically another client's whole operation. That is exactly the interleaving a
scheduler would choose, made deterministic, so each race of the mutant catalog can be shown
on the correct implementation (which survives it) and on the mutant (which does not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.env import Environment, VirtualClock
from conformance.errors import Crashed
from conformance.stores import MemoryCache, MemoryDB, MemoryQueues

__all__ = ["Stores", "HookedDB", "Crashed"]

Hook = Callable[[], None]


class HookedDB(MemoryDB):
    """A MemoryDB that runs one-shot hooks around its operations."""

    def __init__(self) -> None:
        super().__init__()
        self._before: dict[str, list[Hook]] = {}
        self._after: dict[str, list[Hook]] = {}

    def before(self, op: str, hook: Hook) -> None:
        """Run `hook` once, just before the next `op` (get, put, put_many) is applied."""
        self._before.setdefault(op, []).append(hook)

    def after(self, op: str, hook: Hook) -> None:
        """Run `hook` once, just after the next `op` has been applied."""
        self._after.setdefault(op, []).append(hook)

    def _fire(self, table: dict[str, list[Hook]], op: str) -> None:
        hooks = table.get(op)
        if hooks:
            hooks.pop(0)()

    def get(self, key: str) -> str | None:
        self._fire(self._before, "get")
        value = super().get(key)
        self._fire(self._after, "get")
        return value

    def put(self, key: str, value: str, version: int | None = None) -> None:
        self._fire(self._before, "put")
        super().put(key, value, version)
        self._fire(self._after, "put")

    def put_many(self, items: Any) -> None:
        self._fire(self._before, "put_many")
        super().put_many(items)
        self._fire(self._after, "put_many")


class Stores:
    """One set of stores shared by any number of subjects (instances or incarnations)."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.cache = MemoryCache(self.clock)
        self.db = HookedDB()
        self.queues = MemoryQueues()
        self.environment = Environment(self.cache, self.db, self.queues, self.clock, op_timeout=2.0)
        self._instances = 0

    @property
    def faults(self) -> Any:
        return self.environment.faults

    def env(self, instance: int | None = None) -> Any:
        """A fresh env; `instance` defaults to a new instance number."""
        if instance is None:
            instance, self._instances = self._instances, self._instances + 1
        return self.environment.instance(instance).env

    def cached(self, key: str) -> str | None:
        entry = self.cache.entries().get(key)
        return None if entry is None else entry[0]
