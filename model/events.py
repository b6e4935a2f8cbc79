"""What the harness observes: operations, faults, crashes, clock and DB observations.

A history is a sequence of these events in the order the harness saw them. Operations
are split into an invocation and a completion so that concurrent histories (several
clients, workers) use the same vocabulary as sequential ones.
"""

from __future__ import annotations

from typing import Union

from attrs import field, frozen

from model.vocabulary import OpKind

__all__ = [
    "OpKind",
    "Invoke",
    "Ok",
    "Fail",
    "CacheEntry",
    "Fault",
    "Crash",
    "Tick",
    "DbObserved",
    "CacheObserved",
    "Event",
    "History",
]



@frozen(repr=False)
class Invoke:
    """A client called `kind` on the subject (`key`/`value` are None where they do not apply)."""

    op: int
    client: str
    kind: OpKind
    key: str | None
    value: str | None
    time: float

    def __repr__(self) -> str:
        args = ", ".join(repr(a) for a in (self.key, self.value) if a is not None)
        return f"[{self.time:g}] {self.client} invoke #{self.op} {self.kind}({args})"


@frozen(repr=False)
class Ok:
    """Operation `op` returned `result` (None for write and flush)."""

    op: int
    result: str | None
    time: float

    def __repr__(self) -> str:
        return f"[{self.time:g}] ok #{self.op} -> {self.result!r}"


@frozen(repr=False)
class Fail:
    """Operation `op` raised. A failed write is indeterminate: it may take effect or not."""

    op: int
    error: str
    time: float

    def __repr__(self) -> str:
        return f"[{self.time:g}] fail #{self.op}: {self.error}"


@frozen
class CacheEntry:
    """A cache entry as the harness saw it: the stale value a fault may leave behind."""

    key: str
    value: str
    expires_at: float | None


@frozen(repr=False)
class Fault:
    """An injected fault. `cache` is the cache's content when it was injected: the entries
    a cache fault may leave behind for the subject to repair or for their TTL to end."""

    kind: str
    time: float
    key: str | None = None
    cache: tuple[CacheEntry, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        target = f"({self.key!r})" if self.key is not None else ""
        return f"[{self.time:g}] fault {self.kind}{target}"


@frozen(repr=False)
class Crash:
    """The application instance(s) died; `durable` says whether the subject declared that
    its pending writes survive; `cache` is the cache's content at that moment."""

    time: float
    durable: bool = False
    cache: tuple[CacheEntry, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        return f"[{self.time:g}] crash{' (durable)' if self.durable else ''}"


@frozen(repr=False)
class Tick:
    """The clock now reads `time` (TTLs and staleness bounds are measured against it)."""

    time: float

    def __repr__(self) -> str:
        return f"[{self.time:g}] clock"


@frozen(repr=False)
class DbObserved:
    """The harness read `key` directly from the DB (no fault applies to this read)."""

    key: str
    value: str | None
    time: float

    def __repr__(self) -> str:
        return f"[{self.time:g}] db[{self.key!r}] == {self.value!r}"


@frozen(repr=False)
class CacheObserved:
    """At the end of a run (faults healed, the system quiescent, pending work flushed,
    TTLs run out) the harness found a cache entry for `key` and read, at the same instant,
    the DB's value for it.

    `value` is the entry's value, `expires_at` its expiry (None: no TTL). A key without an
    entry has no such event: it has converged. The contract's convergence clause judges
    it: the entry must equal `db_value`. The event carries the DB's value itself, so that
    its verdict is the comparison the harness saw, whatever DB observations came before.
    """

    key: str
    value: str | None
    expires_at: float | None
    db_value: str | None
    time: float

    def __repr__(self) -> str:
        ttl = "no TTL" if self.expires_at is None else f"expires at t={self.expires_at:g}"
        return f"[{self.time:g}] cache[{self.key!r}] == {self.value!r} ({ttl}); db == {self.db_value!r}"


Event = Union[Invoke, Ok, Fail, Fault, Crash, Tick, DbObserved, CacheObserved]


@frozen
class History:
    """An observed history: events in observation order."""

    events: tuple[Event, ...] = ()

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.events)

    def keys(self) -> list[str]:
        """Every key an operation or an observation touched, in first-seen order."""
        seen: dict[str, None] = {}
        for e in self.events:
            k = getattr(e, "key", None)
            if k is not None:
                seen.setdefault(k, None)
        return list(seen)
