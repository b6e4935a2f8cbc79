"""Durable write-behind: every write is pushed to `env.durable_queue` before it is
acknowledged, and an entry is acknowledged in the queue only after its DB commit.

The queue, not the buffer, is what the flush persists: it holds every acknowledged write
in acknowledgement order, survives a crash of the application, and is replayed by the next
factory call. The in-memory buffer is only there so reads see pending writes.

Why the order of operations in a flush is safe:

* `peek(n)` -> `put_many(batch)` -> `ack(n)`: a crash between the commit and the ack
  replays the batch after recovery. Replaying is idempotent, because nothing later in the
  queue has been committed yet (flushes commit in queue order, one at a time), so the
  replayed values are exactly the DB's values. Acking first would lose the batch (the
  mutant `durable_ack_before_commit`).
* A batch is coalesced to the last value of each key, in queue order: `put_many` of two
  values of one key must not depend on the store applying items in order.
* Recovery loads the queue into the buffer oldest first, so the buffer ends with each key's
  latest value (the mutant `durable_replay_reversed` loads it newest first).

Queue names are per application instance: an instance recovers its own pending writes.
If the queue is unreachable when the factory runs (it lives with the cache server), the
recovery is finished by the next operation; until then reads and writes fail rather than
answer without the pending writes.
"""

from __future__ import annotations

import json
from typing import Any

from implementations.memory.write_behind import WriteBehind

__all__ = ["DurableWriteBehind", "encode", "decode"]


def encode(key: str, value: str) -> str:
    """One queue item: a write, as JSON (keys and values are arbitrary strings)."""
    return json.dumps([key, value])


def decode(item: str) -> tuple[str, str]:
    key, value = json.loads(item)
    return key, value


def coalesce(items: list[str]) -> list[tuple[str, str]]:
    """The last value of each key, in queue order."""
    latest: dict[str, str] = {}
    for item in items:
        key, value = decode(item)
        latest.pop(key, None)
        latest[key] = value
    return list(latest.items())


class DurableWriteBehind(WriteBehind):
    """Write-behind whose pending writes survive a crash (`durable = True`).

    Args:
        queue_name: name of the durable queue; defaults to one per `env.instance`.
        (others as `WriteBehind`)
    """

    durable = True
    # No delete yet: the durable queue's records carry a value (`encode`), not a tombstone.
    # `None` is what the harness reads as "no delete" (the machine never draws one).
    delete = None  # type: ignore[assignment]

    def __init__(self, env: Any, *, queue_name: str | None = None, **kwargs: Any) -> None:
        name = queue_name if queue_name is not None else f"write-behind:{getattr(env, 'instance', 0)}"
        self._queue = env.durable_queue(name)
        self._recovered = False
        super().__init__(env, **kwargs)

    def _start(self) -> None:
        try:
            with self._lock:
                self._recover()
        except (ConnectionError, TimeoutError):
            pass  # finished by the next operation (_before_read / _accept / flush)
        super()._start()  # the worker persists whatever the recovery found

    # -- recovery ---------------------------------------------------------------------

    def _recover(self) -> None:
        """Load the queue into the buffer, oldest first (caller holds _lock)."""
        if self._recovered:
            return
        for key, value in self._replay_order(self._queue.peek(len(self._queue))):
            self._pending[key] = value
        self._recovered = True

    def _replay_order(self, items: list[str]) -> list[tuple[str, str]]:
        return [decode(item) for item in items]

    def _before_read(self) -> None:
        self._recover()

    def _accept(self, key: str, value: str) -> None:
        self._recover()
        # A push that fails escapes: the write is not acknowledged. (A push that timed out
        # may still be in the queue; the flush will commit it, consistently for every read.)
        self._queue.push(encode(key, value))

    # -- the flush --------------------------------------------------------------------

    def _commit_pending(self) -> None:
        with self._lock:
            self._recover()
        remaining = len(self._queue)  # everything acknowledged before this flush began
        while remaining > 0:
            items = self._queue.peek(min(self.batch_size, remaining))
            if not items:
                return
            self._commit_batch(items)
            remaining -= len(items)

    def _commit_batch(self, items: list[str]) -> None:
        batch = coalesce(items)
        self._db.put_many(batch)
        self._queue.ack(len(items))  # only now: a crash before this line replays the batch
        self._forget(batch)
