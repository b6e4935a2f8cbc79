"""Durable write-behind on Redis Streams.

A write is one Lua step: new version, cache entry, pending marker, and an entry on the
stream of the key's shard (same cluster slot). It is acknowledged once that step returns,
so it survives a crash of the application (``durable = True``) -- and a SIGKILL of Redis
when Redis runs with ``appendfsync always``.

Flushing reads the shards' streams through the consumer group ``flush`` (consumer = the
application instance; its own pending entries first, so a recovered instance redelivers
what it had in flight), one WB_TAKE per shard and all of them in one pipeline round trip
on a single server; it coalesces to the latest version per key, commits with versioned
``put_many`` transactions of at most ``batch_size`` rows, and only then acknowledges
(XACK, and a trim of the stream below the oldest entry still held) -- in the same round
trip as the next take. A crash between the commit and the ack redelivers the batch to the
recovered instance; the versioned upsert makes the replay a no-op, never a regression.
A key's pending mark names its stream entry and ends when that entry is gone (cleared
lazily by the next read), so acknowledging costs nothing per key.

Full queue policy (``max_queue`` entries per shard): ``"write-through"`` (the default:
the write is persisted synchronously, versioned, so it still orders after queued ones),
``"block"`` (flush the shard, then retry), or ``"fail"`` (raise ``BufferError``).
Entries whose batch fails with a non-connection error are retried one by one; those that
still fail go to the dead-letter stream ``wb:dead`` of their shard (and are counted in
``dead_lettered``) so one poison entry cannot stall a shard.

The queue and the pending marks are Redis keys without a TTL: a server that may evict any
key under memory pressure (``allkeys-*`` with ``maxmemory``) is refused at construction
(`implementations.redis.eviction`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from implementations.redis._base import RedisSubject
from implementations.redis._scripts import Script
from implementations.redis.eviction import refuse_evicting_server

__all__ = ["WriteBehind", "write_behind"]

FullPolicy = Literal["write-through", "block", "fail"]
GROUP = "flush"


class WriteBehind(RedisSubject):
    durable = True

    def __init__(self, env: Any, *, batch_size: int = 256, flush_interval: float = 1.0,
                 max_retries: int = 3, backoff: float = 0.05, max_queue: int = 10_000,
                 full_policy: FullPolicy = "write-through", background: bool = True) -> None:
        super().__init__(env)
        if full_policy not in ("write-through", "block", "fail"):
            raise ValueError(f"full_policy {full_policy!r}: expected write-through, block or fail")
        refuse_evicting_server(self.redis)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_queue = max_queue
        self.full_policy = full_policy
        self.consumer = f"i{getattr(env, 'instance', 0)}"
        self.dead_lettered = 0
        self._stopping = False
        # A Cluster client refuses EVALSHA in pipelines: its shards are read one by one.
        self._cluster = getattr(self.redis, "nodes_manager", None) is not None
        self._tags = [self.keys.tag(shard) for shard in range(self.keys.shards)]
        if background:
            env.spawn(self._worker)

    # --- writes -------------------------------------------------------------------------
    def _stream(self, shard: int) -> str:
        return self.keys.in_shard(shard, "wb")

    def write(self, key: str, value: str) -> None:
        tag = self._tags[self.keys.shard(key)]
        names = (tag + "c:" + key, tag + "m:" + key, tag + "wb")
        while True:
            if self.scripts.wb_write(names, (key, value, self.max_queue, len(key))):
                return
            if self.full_policy == "write-through":
                self._write_synchronously(key, value, "set")
                return
            if self.full_policy == "fail":
                raise BufferError(f"write-behind queue of shard {self.keys.shard(key)} is full "
                                  f"({self.max_queue} entries)")
            self._flush_shard(self.keys.shard(key), claim=False)  # "block"

    def _read_without_cache(self, key: str) -> str | None:
        # The cache holds acknowledged writes the DB may not have yet: reading the DB
        # instead could go back in time. Fail the read rather than answer stale.
        raise ConnectionError(f"cache unavailable; cannot read {key!r} without it")

    # --- flushing -----------------------------------------------------------------------
    def flush(self) -> None:
        """Persist every acknowledged write of every instance (claims their in-flight
        entries too: replays are idempotent)."""
        self._flush(range(self.keys.shards), claim=True)

    def close(self) -> None:
        """Graceful shutdown: stop the worker and drain."""
        self._stopping = True
        self.flush()

    def _worker(self) -> None:
        while not self._stopping:
            self.env.clock.sleep(self.flush_interval)
            if self._stopping:
                return
            try:
                self._flush(range(self.keys.shards), claim=False)
            except (ConnectionError, TimeoutError):
                pass  # the next interval retries; entries stay pending

    def _flush_shard(self, shard: int, *, claim: bool) -> None:
        self._flush([shard], claim=claim)

    def _flush(self, shards: Any, *, claim: bool) -> None:
        """Rounds over the shards: take a batch from each (one round trip for all of them
        on a single server: a pipeline), coalesce, commit in DB transactions of at most
        `batch_size` rows, then acknowledge -- in the same round trip as the next take.
        A shard leaves the loop when it has nothing left."""
        active = list(shards)
        taken = self._take(active, claim=claim, acks=[])
        while True:
            batches = [(shard, entries) for shard, entries in zip(active, taken) if entries]
            if not batches:
                return
            acks = self._commit(batches)
            active = [shard for shard, _ in batches]
            taken = self._take(active, claim=False, acks=acks)

    def _take(self, shards: list[int], *, claim: bool,
              acks: list[tuple[Sequence[str], Sequence[Any]]]) -> list[Any]:
        """Run the given WB_ACK calls, then one WB_TAKE per shard; the takes' replies."""
        take = self.scripts.wb_take
        calls = [(self.scripts.wb_ack, keys, args) for keys, args in acks]
        calls += [(take, (self._tags[shard] + "wb",),
                   (GROUP, self.consumer, self.batch_size, "1" if claim else "0"))
                  for shard in shards]
        return [json.loads(raw) for raw in self._run(calls)[len(acks):]]

    def _run(self, calls: list[tuple[Any, Sequence[Any], Sequence[Any]]]) -> list[Any]:
        """Script calls in order: one pipeline round trip on a single server; one call
        after the other on a Cluster (its pipelines refuse EVALSHA) or when a script is
        replaced (tests)."""
        if (self._cluster or len(calls) == 1
                or not all(isinstance(script, Script) for script, _, _ in calls)):
            return [script(keys, args) for script, keys, args in calls]
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            for script, keys, args in calls:
                pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
            try:
                return pipe.execute()
            except Exception as exc:  # redis.exceptions.NoScriptError after a restart
                if type(exc).__name__ != "NoScriptError" or attempt == 2:
                    raise
            for script in {id(s): s for s, _, _ in calls}.values():
                script.load()
        raise AssertionError("unreachable")

    def _commit(self, batches: list[tuple[int, Any]]) -> list[tuple[Sequence[str], Sequence[Any]]]:
        """Coalesce the taken entries to the latest version per key, commit them, and
        return the WB_ACK calls (keys, args) for each shard."""
        acks: list[tuple[Sequence[str], Sequence[Any]]] = []
        items: list[tuple[str, str, int]] = []
        for shard, entries in batches:
            latest: dict[str, tuple[str, int]] = {}
            for _, fields in entries:
                if not fields:
                    continue  # deleted while pending: nothing to write
                # e = "VERSION:KEYVALUE", l = len(KEY): one field to parse, and no
                # separator that a key or value could contain.
                version, _, rest = fields[1].partition(":")
                n = int(version)
                cut = int(fields[3])
                key = rest[:cut]
                seen = latest.get(key)
                if seen is None or seen[1] < n:
                    latest[key] = (rest[cut:], n)  # coalescing: one row per key
            items.extend((k, v, n) for k, (v, n) in latest.items())
            acks.append(((self._tags[shard] + "wb",), (GROUP, *(e[0] for e in entries))))
        for start in range(0, len(items), self.batch_size):
            self._put_with_retries(items[start:start + self.batch_size])
        return acks

    def _put_with_retries(self, items: list[tuple[str, str, int]]) -> None:
        for attempt in range(self.max_retries + 1):
            try:
                self.env.db.put_many(items)
                return
            except (ConnectionError, TimeoutError):
                if attempt == self.max_retries:
                    raise  # entries stay pending; a later flush retries them
                self.env.clock.sleep(self.backoff * 2 ** attempt)
            except Exception:
                break  # not transient: isolate the poison entries below
        for key, value, version in items:
            try:
                self.env.db.put(key, value, version=version)
            except (ConnectionError, TimeoutError):
                raise
            except Exception as exc:
                dead = self._tags[self.keys.shard(key)] + "wb:dead"
                self.redis.xadd(dead, {"k": key, "v": value, "n": str(version),
                                                   "error": str(exc)[:500]})
                self.dead_lettered += 1


def write_behind(env: Any) -> WriteBehind:
    return WriteBehind(env)
