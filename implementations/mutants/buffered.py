"""Mutants of write-behind, volatile and durable: each is the correct implementation with
exactly one step broken. Docstrings name the bug, the clause and what it takes to see it.
"""

from __future__ import annotations

from typing import Any

from implementations.mutants.base import WithoutDelete
from implementations.memory.durable import DurableWriteBehind, coalesce, decode
from implementations.memory.write_behind import WriteBehind

__all__ = [
    "write_behind_drops_failed_batch",
    "write_behind_clears_before_write",
    "write_behind_stale_requeue",
    "write_behind_read_skips_buffer",
    "write_behind_flush_returns_early",
    "write_behind_durable_without_queue",
    "durable_replay_reversed",
    "durable_ack_before_commit",
    "write_behind_resurrects",
    "write_behind_loses_failed_delete",
]


class _DropsFailedBatch(WithoutDelete, WriteBehind):  # type: ignore[misc]
    def _commit_pending(self) -> None:
        with self._lock:
            batch = list(self._pending.items())
        try:
            self._db.put_many(batch)
        finally:
            self._forget(batch)  # BUG: forgotten whether or not the commit happened


def write_behind_drops_failed_batch(env: Any) -> WriteBehind:
    """Write-behind whose flush forgets its batch even when `put_many` failed: the error is
    reported, but the writes are gone from the buffer and never retried. Breaks
    eventual-persistence (db-down during a flush, then a flush with the DB up)."""
    return _DropsFailedBatch(env)


class _ClearsBeforeWrite(WithoutDelete, WriteBehind):  # type: ignore[misc]
    def _commit_pending(self) -> None:
        with self._lock:
            batch = list(self._pending.items())
            self._pending.clear()  # BUG: emptied before the commit, not after it
        self._db.put_many(batch)


def write_behind_clears_before_write(env: Any) -> WriteBehind:
    """Write-behind that empties its buffer before the DB write: if the write fails the
    batch is lost (and, concurrently, a read between the two steps skips the pending
    writes). Breaks eventual-persistence (db-down during a flush)."""
    return _ClearsBeforeWrite(env)


class _StaleRequeue(WithoutDelete, WriteBehind):  # type: ignore[misc]
    def __init__(self, env: Any) -> None:
        self._inflight: dict[str, str] = {}
        super().__init__(env)

    def read(self, key: str) -> str | None:
        with self._lock:
            if key in self._inflight and key not in self._pending:
                return self._inflight[key]
        return super().read(key)

    def _commit_pending(self) -> None:
        with self._lock:
            snapshot, self._pending = self._pending, {}
            self._inflight = dict(snapshot)
        try:
            self._db.put_many(list(snapshot.items()))
        except (ConnectionError, TimeoutError):
            with self._lock:
                # BUG: the old snapshot goes back over whatever was written meanwhile.
                self._pending.update(snapshot)
            raise
        finally:
            with self._lock:
                self._inflight = {}


def write_behind_stale_requeue(env: Any) -> WriteBehind:
    """Write-behind whose failed flush puts its snapshot back into the buffer with
    `update`, over any newer write of the same key made while the flush was running; the
    newer value is lost and the old one is later persisted. Correct when flushes never
    overlap a write. Breaks linearizable-reads / eventual-persistence when the worker's
    failing flush interleaves with a client's write (scheduler needed)."""
    return _StaleRequeue(env)


class _ReadSkipsBuffer(WithoutDelete, WriteBehind):  # type: ignore[misc]
    def read(self, key: str) -> str | None:
        with self._lock:
            # BUG: the buffer is not consulted; the cache usually hides it, an eviction does not.
            return self._leases.lookup(key, self._db.get)


def write_behind_read_skips_buffer(env: Any) -> WriteBehind:
    """Write-behind whose reads look at the cache and the DB but not the pending buffer:
    after an eviction a read returns the DB's older value although a newer write was
    acknowledged. Breaks linearizable-reads (evict)."""
    return _ReadSkipsBuffer(env)


class _FlushReturnsEarly(WithoutDelete, WriteBehind):  # type: ignore[misc]
    def flush(self) -> None:
        # BUG: "the worker will do it": returns before anything is persisted.
        return None


def write_behind_flush_returns_early(env: Any) -> WriteBehind:
    """Write-behind whose `flush()` leaves the work to the next round of the background
    worker and returns at once, so a flush that returned does not mean persisted. Breaks
    eventual-persistence (write, flush)."""
    return _FlushReturnsEarly(env)


class _ClaimsDurable(WithoutDelete, WriteBehind):  # type: ignore[misc]
    durable = True  # BUG: declared, but pending writes live only in process memory


def write_behind_durable_without_queue(env: Any) -> WriteBehind:
    """Volatile write-behind that declares `durable = True`: a crash loses the writes
    acknowledged since the last flush, which a durable subject may not. Breaks bounded-loss
    (crash)."""
    return _ClaimsDurable(env)


class _ReplayReversed(WithoutDelete, DurableWriteBehind):  # type: ignore[misc]
    def _replay_order(self, items: list[str]) -> list[tuple[str, str]]:
        decoded = [decode(item) for item in items]
        # BUG: replays newest first, then commits in that order: the oldest value of a key
        # is applied last and wins.
        for key, value in reversed(decoded):
            self._db.put(key, value)
        self._queue.ack(len(items))
        return []


def durable_replay_reversed(env: Any) -> DurableWriteBehind:
    """Durable write-behind whose recovery replays the queue newest first: two pending
    writes of one key end with the older one in the DB. Breaks bounded-loss / linearizable
    reads (two writes of a key, crash)."""
    return _ReplayReversed(env)


class _AckBeforeCommit(WithoutDelete, DurableWriteBehind):  # type: ignore[misc]
    def __init__(self, env: Any, **kwargs: Any) -> None:
        self._taken: list[tuple[str, str]] = []
        super().__init__(env, **kwargs)

    def _commit_pending(self) -> None:
        if self._taken:
            self._commit_taken()
        super()._commit_pending()

    def _commit_batch(self, items: list[str]) -> None:
        self._taken = coalesce(items)
        self._queue.ack(len(items))  # BUG: popped before the commit; held only in memory
        self._commit_taken()

    def _commit_taken(self) -> None:
        self._db.put_many(self._taken)
        self._forget(self._taken)
        self._taken = []


def durable_ack_before_commit(env: Any) -> DurableWriteBehind:
    """Durable write-behind whose flush pops (acks) queue entries before committing them and
    retries a failed commit from memory: a crash between the ack and the commit loses
    acknowledged writes. Breaks bounded-loss (db-down during a flush, then crash; or a
    crash at the step between ack and put_many)."""
    return _AckBeforeCommit(env)


class _Resurrects(WriteBehind):
    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._deleted: set[str] = set()  # deleted since their last write: reads say None

    def write(self, key: str, value: str) -> None:
        super().write(key, value)
        with self._lock:
            self._deleted.discard(key)

    def delete(self, key: str) -> None:
        with self._lock:
            # BUG: the row and the entry go at once, but the key's put stays queued.
            self._db.delete(key)
            self._leases.invalidate(key)
            self._deleted.add(key)

    def read(self, key: str) -> str | None:
        with self._lock:
            if key in self._deleted:
                return None
        return super().read(key)


def write_behind_resurrects(env: Any) -> WriteBehind:
    """Write-behind whose delete removes the DB row and the cache entry at once but leaves
    the key's queued put in the buffer: the next flush applies the put after the delete,
    and the deleted value comes back (Hazelcast #2158: a map entry removed while its
    write-behind store was queued reappeared in the MapStore). Reads answer None until
    then, so only the DB shows it. Breaks no-regression (write, delete, flush)."""
    return _Resurrects(env)


class _LosesFailedDelete(WriteBehind):
    def _commit(self, batch: list[tuple[str, str | None]]) -> None:
        try:
            super()._commit(batch)
        except (ConnectionError, TimeoutError):
            # BUG: the batch's deletes are dropped from the buffer as if they were done.
            self._forget([(k, v) for k, v in batch if v is None])
            raise


def write_behind_loses_failed_delete(env: Any) -> WriteBehind:
    """Write-behind whose failed flush keeps its puts pending but forgets its deletes: the
    error is reported, the delete is never retried, and once the key leaves the buffer
    reads (and the DB) show the value it deleted. Breaks eventual-persistence (write, flush,
    delete, a flush the DB fails (db-timeout or db-down), a flush)."""
    return _LosesFailedDelete(env)
