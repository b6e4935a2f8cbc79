"""The fault layer: wraps any raw store so that the harness can take it down, make a call
time out with an ambiguous outcome, and see every call as a step.

Every store call of a subject passes through the step hook (`Environment.step`), where a crashed
instance's threads are unwound and where a scheduler may interleave. Faults are plain
flags the harness sets; they are checked at the call, so a fault injected between two
store calls of one operation hits the second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.errors import StoreTimeout, StoreUnavailable
from conformance.stores import normalize_items

__all__ = ["FaultState", "FaultyCache", "FaultyDB", "FaultyQueue", "FaultyQueues", "StepHook"]


class FaultState:
    """Which stores are down, and whether the next DB write times out (and if so whether
    it takes effect first)."""

    def __init__(self) -> None:
        self.db_down = False
        self.cache_down = False
        self.db_timeout: bool | None = None  # None: not armed; True/False: the armed write applies or not

    def heal(self) -> None:
        self.db_down = self.cache_down = False
        self.db_timeout = None

    def describe(self) -> str:
        active = [n for n, on in (("db-down", self.db_down), ("cache-down", self.cache_down)) if on]
        if self.db_timeout is not None:
            active.append(f"db-timeout armed (applies: {self.db_timeout})")
        return ", ".join(active) or "none"


# The step hook (Environment.step): called before every store call, with (store, call, key).
StepHook = Callable[[str, str, "str | None"], None]


class FaultyCache:
    """env.cache: the raw cache behind the fault flags."""

    def __init__(self, raw: Any, faults: FaultState, step: StepHook):
        self._raw, self._faults, self._step = raw, faults, step

    def _gate(self, name: str, key: str | None) -> None:
        self._step("cache", name, key)
        if self._faults.cache_down:
            raise StoreUnavailable(f"cache is down (injected fault) during cache.{name}({key!r})")

    def get(self, key: str) -> str | None:
        self._gate("get", key)
        return self._raw.get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._gate("set", key)
        self._raw.set(key, value, ttl)

    def delete(self, key: str) -> None:
        self._gate("delete", key)
        self._raw.delete(key)

    def cas(self, key: str, expected: str | None, value: str, ttl: float | None = None) -> bool:
        self._gate("cas", key)
        return bool(self._raw.cas(key, expected, value, ttl))


class FaultyDB:
    """env.db: the raw DB behind the fault flags; an armed timeout hits the next write.

    Only writes consume an armed timeout: a read that times out merely fails, as under
    db-down, while a write's ambiguous outcome (committed or not, the caller cannot tell)
    is what the fault exists for; a cache-miss read in between must not use it up."""

    def __init__(self, raw: Any, faults: FaultState, step: StepHook):
        self._raw, self._faults, self._step = raw, faults, step

    def _gate(self, name: str, key: str | None, apply: Callable[[], Any] | None) -> Any:
        self._step("db", name, key)
        if self._faults.db_down:
            raise StoreUnavailable(f"database is down (injected fault) during db.{name}({key!r})")
        armed = self._faults.db_timeout
        if armed is not None:
            self._faults.db_timeout = None
            # The ambiguous outcome: the statement may have committed before the timeout.
            if armed and apply is not None:
                apply()
            raise StoreTimeout(
                f"database timed out (injected fault) during db.{name}({key!r}); "
                f"the call {'did' if armed and apply else 'did not'} take effect"
            )
        return apply() if apply is not None else None

    def get(self, key: str) -> str | None:
        self._step("db", "get", key)
        if self._faults.db_down:
            raise StoreUnavailable(f"database is down (injected fault) during db.get({key!r})")
        return self._raw.get(key)

    def put(self, key: str, value: str, version: int | None = None) -> None:
        self._gate("put", key, lambda: self._raw.put(key, value, version))

    def put_many(self, items: Any) -> None:
        # Validated before the step: a malformed batch is the subject's error whatever the
        # faults, and it never reaches a store.
        batch = normalize_items(items)
        key = batch[0][0] if len(batch) == 1 else None
        self._gate("put_many", key, lambda: self._raw.put_many(batch))

    def delete(self, key: str) -> None:
        self._gate("delete", key, lambda: self._raw.delete(key))


class FaultyQueue:
    """A durable queue; it lives with the cache server, so cache-down makes it raise."""

    def __init__(self, raw: Any, name: str, faults: FaultState, step: StepHook):
        self._raw, self._name, self._faults, self._step = raw, name, faults, step

    def _gate(self, op: str) -> None:
        self._step("queue", op, self._name)
        if self._faults.cache_down:
            raise StoreUnavailable(f"queue {self._name!r} is unavailable (injected cache-down) during {op}")

    def push(self, item: str) -> None:
        self._gate("push")
        self._raw.push(item)

    def peek(self, n: int) -> list[str]:
        self._gate("peek")
        return list(self._raw.peek(n))

    def ack(self, n: int) -> None:
        self._gate("ack")
        self._raw.ack(n)

    def __len__(self) -> int:
        self._gate("len")
        return len(self._raw)


class FaultyQueues:
    def __init__(self, raw: Callable[[str], Any], faults: FaultState, step: StepHook):
        self._raw, self._faults, self._step = raw, faults, step

    def __call__(self, name: str) -> FaultyQueue:
        return FaultyQueue(self._raw(name), name, self._faults, self._step)
