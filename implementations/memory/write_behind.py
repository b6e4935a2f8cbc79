"""Write-behind (write-back): a write is acknowledged once it is in a process-local buffer
and the cache; a background worker persists the buffer to the DB in batches.

Invariants, and why each one matters:

* **The buffer is the truth for pending keys.** A read looks in the buffer first, then the
  cache, then the DB. The cache is only an accelerator: an eviction must not make a read fall
  through to the DB's older value while a write is still pending.
* **Coalescing.** The buffer keeps only the latest value per key: ten writes of one key
  before a flush cost one DB write.
* **An entry leaves the buffer only after its DB commit, and only if unchanged.** A flush
  copies a batch, commits it with one atomic `put_many`, then removes each key whose
  buffered value is still the one it committed. A key re-written meanwhile keeps its newer
  value pending; a failed commit removes nothing. So a failed flush can never put an old
  snapshot back over a newer write (the mutant `write_behind_stale_requeue` does).
* **One flush at a time.** Two overlapping flushes could commit one key's values in the
  wrong order; the `_flushing` lock serializes the worker and explicit `flush()` calls.
* **A cache update that failed is remembered.** If `cache.set` fails, the entry may hold an
  older value; once the key leaves the buffer a read would return it. Such keys are marked
  suspect and read from the DB until their entry is successfully deleted (`leases`).
* **Misses fill under a lease**, exactly like the invalidating policies, so a fill cannot
  put back a value older than one a write stored meanwhile.
* **A delete is a pending write of None** (a tombstone in the buffer): reads return None
  at once, the cache entry is deleted, and the flush removes the DB row in its turn. It
  coalesces with the key's writes, so a put queued before it is never applied after it
  (the mutant `write_behind_resurrects` does), and it leaves the buffer only after its DB
  delete, like a put (a failed flush keeps it: `write_behind_loses_failed_delete` does not).

The volatile variant loses, on a crash, exactly the writes acknowledged since the last
completed flush (the contract's "bounded loss"); `durable.DurableWriteBehind` loses none.

Across application instances each instance has its own buffer, so one instance cannot see
another's pending writes: write-behind is linearizable only per instance (or with keys
partitioned between instances). That is a property of the policy, not of this code.
"""

from __future__ import annotations

from typing import Any

from implementations.memory.invalidating import DEFAULT_LEASE_TTL, DEFAULT_TTL
from implementations.memory.leases import STORE_ERRORS, LeasedCache

__all__ = ["DEFAULT_INTERVAL", "DEFAULT_BATCH_SIZE", "WriteBehind"]

DEFAULT_INTERVAL = 1.0
DEFAULT_BATCH_SIZE = 8


class WriteBehind:
    """Volatile write-behind with batching, coalescing and a periodic flush worker.

    Args:
        env: the environment (docs/ENVIRONMENT.md).
        interval: seconds of `env.clock` between two background flushes.
        batch_size: at most this many keys per `put_many`.
        ttl: TTL of every cache entry this subject writes.
    """

    durable = False

    def __init__(
        self,
        env: Any,
        *,
        interval: float = DEFAULT_INTERVAL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        if interval <= 0 or batch_size < 1 or ttl <= 0:
            raise ValueError(f"need interval > 0, batch_size >= 1, ttl > 0; got {interval!r}, {batch_size!r}, {ttl!r}")
        self._env = env
        self._db = env.db
        self.interval = float(interval)
        self.batch_size = int(batch_size)
        self._leases = LeasedCache(env, ttl=ttl, lease_ttl=DEFAULT_LEASE_TTL)
        self._lock = env.lock()  # guards _pending and orders the cache updates of writes
        self._flushing = env.lock()  # one flush at a time; taken before _lock, never after
        # Acknowledged, not yet committed: the latest value per key (None: a delete).
        self._pending: dict[str, str | None] = {}
        self._closed = False
        self._start()

    @property
    def ttl(self) -> float:
        return self._leases.ttl

    def _start(self) -> None:
        self._worker = self._env.spawn(self._run)

    # -- client operations ------------------------------------------------------------

    def write(self, key: str, value: str) -> None:
        with self._lock:
            self._accept(key, value)
            self._pending[key] = value
            # Acknowledged even if the cache is down (the write is in the buffer); a failed
            # set makes the key suspect, so its old entry is not served once it is flushed.
            self._leases.store(key, value)

    def delete(self, key: str) -> None:
        """Remove `key`: a tombstone in the buffer (see the module docstring)."""
        with self._lock:
            self._pending[key] = None
            # A delete that failed leaves the key suspect: its entry is not served.
            self._leases.invalidate(key)

    def _accept(self, key: str, value: str) -> None:
        """Hook for the durable variant: make the write survive a crash before acking it."""

    def read(self, key: str) -> str | None:
        with self._lock:
            self._before_read()
            if key in self._pending:
                return self._pending[key]
            # Not pending: the DB holds the key's latest committed value (a flush removes a
            # key only after its commit, under _lock, which this read holds).
            return self._leases.lookup(key, self._db.get)

    def _before_read(self) -> None:
        """Hook for the durable variant (finish a recovery that the cache interrupted)."""

    def flush(self) -> None:
        """Persist every write acknowledged before this call, or raise the store error."""
        with self._flushing:
            self._commit_pending()

    def close(self) -> None:
        """Stop the worker and drain the buffer (raises if the DB cannot take it)."""
        self._closed = True
        self.flush()

    # -- the flush --------------------------------------------------------------------

    def _commit_pending(self) -> None:
        with self._lock:
            keys = list(self._pending)  # everything acknowledged so far
        for start in range(0, len(keys), self.batch_size):
            with self._lock:
                # The latest value of each key, even if re-written since the list was taken.
                batch = [(k, self._pending[k]) for k in keys[start:start + self.batch_size] if k in self._pending]
            if batch:
                self._commit(batch)
                self._forget(batch)

    def _commit(self, batch: list[tuple[str, str | None]]) -> None:
        """Apply one batch to the DB, or raise: its puts in one atomic `put_many`, then its
        deletes. A failure part-way leaves every entry pending; applying again what was
        applied is harmless (the values are the latest)."""
        puts = [(k, v) for k, v in batch if v is not None]
        if puts:
            self._db.put_many(puts)  # atomic: all of the batch or none of it
        for k, v in batch:
            if v is None:
                self._db.delete(k)

    def _forget(self, committed: list[tuple[str, str | None]]) -> None:
        """Drop committed entries from the buffer, unless re-written (or deleted) since."""
        with self._lock:
            for key, value in committed:
                if key in self._pending and self._pending[key] == value:
                    del self._pending[key]

    def _run(self) -> None:
        # The worker waits only through env.clock.sleep, so the harness schedules it; a crash
        # unwinds it with a BaseException, which it must not catch.
        while not self._closed:
            self._env.clock.sleep(self.interval)
            if self._closed:
                return
            try:
                self.flush()
            except STORE_ERRORS:
                pass  # everything stays pending; the next round retries
