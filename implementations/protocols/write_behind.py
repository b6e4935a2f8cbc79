"""Write-behind protocols of model/protocols/write_behind.py that no seed port or mutant
follows store call for store call: `wb-volatile` and `wb-requeue`.

(`wb-pop-before-commit` is embodied by seed 000's and seed 001's ports, see tests/loop/.)

Neither runs a background worker: the models have none, and flushing happens only when a
client (or the harness, at the end of a run) calls `flush()`.
"""

from __future__ import annotations

import json
from typing import Any

from implementations.protocols._read import cache_read

__all__ = [
    "VALUE_TTL_S",
    "RequeueWriteBehind",
    "VolatileWriteBehind",
    "wb_requeue",
    "wb_volatile",
    "wb_volatile_declared_durable",
]

VALUE_TTL_S = 30.0  # the memory implementations' value TTL; see _read.cache_read for why any


class VolatileWriteBehind:
    """Protocol `wb-volatile`: the seeds' in-process buffer.

    write: `cache.set` and remember the value in process memory (the buffer, latest value per
    key). flush: one `db.put_many(buffer)` — also when the buffer is empty, as the model does,
    so a replayed schedule counts the flush's store call — and the buffer is cleared only once
    the put succeeded. read: the models' shared read path (the buffer is not consulted: the
    model's read is `cache_read`). A crash loses the buffer.
    """

    durable: bool = False

    def __init__(self, env: Any) -> None:
        self._env = env
        self.buffer: dict[str, str] = {}

    def write(self, key: str, value: str) -> None:
        self._env.cache.set(key, value, ttl=VALUE_TTL_S)
        self.buffer[key] = value

    def read(self, key: str) -> str | None:
        return cache_read(self._env, key, VALUE_TTL_S)

    def flush(self) -> None:
        batch = dict(self.buffer)
        self._env.db.put_many(list(batch.items()))
        for key, value in batch.items():
            # Never true without concurrent writers in one instance, but a value written
            # while put_many ran must stay pending.
            if self.buffer.get(key) == value:
                del self.buffer[key]


class _DeclaredDurable(VolatileWriteBehind):
    """`wb-volatile` with the claim the no-lost-ack property checks: `durable = True`."""

    durable = True


class RequeueWriteBehind:
    """Protocol `wb-requeue`: seed 001's "re-queue failed writes" on a durable queue.

    write: `cache.set`, `queue.push(item)`. flush, item by item: `queue.peek(1)` (empty: done),
    `queue.ack(1)` — removed *before* the commit — then `db.put`; when the put fails,
    `queue.push(item)` puts it back at the tail, behind newer pending writes, and the flush
    fails. The next flush then commits the newer value first and the re-queued older one over
    it: the DB ends on a value older than the latest acknowledged write.

    `durable = True`: every acknowledged write is on the durable queue.
    """

    durable: bool = True

    def __init__(self, env: Any) -> None:
        self._env = env
        self.queue = env.durable_queue(f"wb-requeue:{getattr(env, 'instance', 0)}")

    def write(self, key: str, value: str) -> None:
        self._env.cache.set(key, value, ttl=VALUE_TTL_S)
        self.queue.push(json.dumps([key, value]))

    def read(self, key: str) -> str | None:
        return cache_read(self._env, key, VALUE_TTL_S)

    def flush(self) -> None:
        while True:
            head = self.queue.peek(1)
            if not head:
                return
            item = head[0]
            self.queue.ack(1)
            key, value = json.loads(item)
            try:
                self._env.db.put(key, value)
            except (ConnectionError, TimeoutError):
                self.queue.push(item)
                raise


def wb_volatile(env: Any) -> VolatileWriteBehind:
    """Protocol `wb-volatile`, declared volatile (`durable = False`): under the write-behind
    contract it may lose writes acknowledged since the last flush on a crash."""
    return VolatileWriteBehind(env)


def wb_volatile_declared_durable(env: Any) -> VolatileWriteBehind:
    """Protocol `wb-volatile` claiming `durable = True`, as the property no-lost-ack assumes
    (and as seed 000's write-behind argues): a crash before the flush loses an acknowledged
    write (bounded-loss)."""
    return _DeclaredDurable(env)


def wb_requeue(env: Any) -> RequeueWriteBehind:
    """Protocol `wb-requeue`: pop before commit, and a failed commit re-queues its item
    behind newer ones (eventual-persistence and no-regression refuted)."""
    return RequeueWriteBehind(env)
