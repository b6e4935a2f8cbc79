"""What a backend is: the stores a run checks a subject against, opened once per run.

A `Run` asks its backend for a fresh set of raw stores (`open(clock) -> Stores`), wraps
them in the fault layer (conformance.faults) and builds the subject's environment on them;
it never looks at the backend's type. The embedded default, `MemoryBackend`, keeps
everything in this process; `conformance.backends.harness.RedisBackend` puts the cache and
the durable queues on a real Redis and the DB on SQLite or PostgreSQL. Adding a backend
is writing one class that satisfies `Backend`.

"Raw" stores are fault-free and unobserved: the harness alone injects faults and counts
steps, in the layer it wraps around them, so every backend gets the same faults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, runtime_checkable

import attrs

from conformance.errors import UsageError
from conformance.script import Expr
from conformance.stores import Clock, MemoryCache, MemoryDB, MemoryQueues

if TYPE_CHECKING:
    from conformance.env import Environment

__all__ = ["Backend", "Stores", "RawCache", "RawDB", "RawQueue", "MemoryBackend", "backend_expression",
           "needs_backend"]


class RawCache(Protocol):
    """A cache as a backend provides it: the env contract's calls, and the harness's own."""

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...
    def delete(self, key: str) -> None: ...
    def cas(self, key: str, expected: str | None, value: str, ttl: float | None = None) -> bool: ...
    # harness side: observe and fault, never a step
    def entries(self) -> dict[str, tuple[str, float | None]]: ...  # live key -> (value, expiry)
    def clear(self) -> None: ...  # cache-restart
    def evict(self, key: str) -> None: ...


class RawDB(Protocol):
    """A database as a backend provides it."""

    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str, version: int | None = None) -> None: ...
    def put_many(self, items: Iterable[tuple[Any, ...]]) -> None: ...
    def delete(self, key: str) -> None: ...
    def snapshot(self) -> dict[str, str]: ...  # harness side: every key's value


class RawQueue(Protocol):
    """A durable FIFO of strings (env.durable_queue(name)); it survives an application crash."""

    def push(self, item: str) -> None: ...
    def peek(self, n: int) -> list[str]: ...
    def ack(self, n: int) -> None: ...
    def __len__(self) -> int: ...


def _nothing() -> None:
    pass


@attrs.frozen
class Stores:
    """One run's raw stores, as a backend opened them.

    Attributes:
        cache: the raw cache.
        db: the raw database.
        queues: `queues(name)` -> that durable queue (created on first use).
        extras: attributes set on every env besides cache/db/durable_queue (the Redis
            backend's `redis`, `db_connection`, `redis_keys`).
        close: releases the run's stores (its keys, its table); called once, when the run
            closes.
    """

    cache: RawCache
    db: RawDB
    queues: Callable[[str], RawQueue]
    extras: Mapping[str, Any] = attrs.field(factory=dict)
    close: Callable[[], None] = _nothing


@runtime_checkable
class Backend(Protocol):
    """Where a run's stores live. `open` is required; the rest have defaults here, which a
    backend gets by subclassing `Backend` explicitly (as `MemoryBackend` does).

    Example::

        class MyBackend(Backend):
            name = "mine"

            def open(self, clock):
                return Stores(cache=MyCache(clock), db=MyDB(), queues=MyQueues())
    """

    #: Shown in the env's repr and the reports.
    name: str = "custom"
    #: What a user should read before trusting a verdict on these stores (one line each),
    #: known once the backend is ready (a check prints them before it starts).
    warnings: Sequence[str] = ()

    def open(self, clock: Clock) -> Stores:
        """A fresh set of stores for one run (one Hypothesis example): empty, apart from
        any other run's, with cache TTLs measured on `clock` (virtual seconds)."""
        ...

    def bind(self, environment: Environment) -> None:
        """Called once the run's environment is built on the stores `open` returned last:
        the hook for a backend whose extras reach a store directly (`env.redis`) to route
        them through `environment.step` and `environment.faults` like `env.cache`."""

    def close(self) -> None:
        """Release what the backend holds for the whole check (servers, clients)."""

    def expression(self) -> Expr | None:
        """How the `Run(...)` line of a printed counterexample rebuilds this backend: the
        source of a new one with the same options (`conformance.script.Expr`), or None for
        the default in-memory stores (no `backend=` at all). This default, for a backend
        that does not say, prints a call that stops the script with one line asking for the
        backend object (`needs_backend`): a guess would run the script elsewhere."""
        return _needed(self)


def needs_backend(name: str) -> NoReturn:
    """What a printed `Run(...)` line calls in place of a backend it cannot rebuild.

    Raises:
        UsageError: always, saying what to pass instead.
    """
    raise UsageError(f"this counterexample ran on the {name!r} backend, which its script cannot "
                     f"rebuild: replace backend=needs_backend({name!r}) in its Run(...) line with "
                     "that Backend object (as passed to run_check or Run)")


def _needed(backend: Any) -> Expr:
    name = str(getattr(backend, "name", None) or type(backend).__name__)
    return Expr(f"needs_backend({name!r})", ("from conformance.backend import needs_backend",),
                (f"the check ran on the {name!r} backend: pass that Backend object as backend=",))


def backend_expression(backend: Any) -> Expr | None:
    """`backend.expression()`, also for a backend that only satisfies the protocol's
    required part (no `expression`): then the `needs_backend` line."""
    expression = getattr(backend, "expression", None)
    return expression() if callable(expression) else _needed(backend)


class MemoryBackend(Backend):
    """The embedded default: in-memory cache, DB and durable queues."""

    name = "memory"

    def open(self, clock: Clock) -> Stores:
        return Stores(cache=MemoryCache(clock), db=MemoryDB(), queues=MemoryQueues())

    def expression(self) -> Expr | None:
        return None  # Run's default: a script without backend= runs on it
