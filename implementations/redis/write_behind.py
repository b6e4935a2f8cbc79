"""Durable write-behind on Redis Streams.

A write is one Lua step: new version, cache entry, pending marker, and an entry on the
stream of the key's shard (same cluster slot). It is acknowledged once that step returns,
so it survives a crash of the application (``durable = True``) -- and a SIGKILL of Redis
when Redis runs with ``appendfsync always``.

Flushing reads a shard's stream through the consumer group ``flush`` (consumer = the
application instance), coalesces a batch to the latest version per key, commits it with
one versioned ``put_many`` and only then XACKs/XDELs the entries. A crash between the
commit and the ack redelivers the batch to the recovered instance; the versioned upsert
makes the replay a no-op, never a regression.

Full queue policy (``max_queue`` entries per shard): ``"write-through"`` (the default:
the write is persisted synchronously, versioned, so it still orders after queued ones),
``"block"`` (flush the shard, then retry), or ``"fail"`` (raise ``BufferError``).
Entries whose batch fails with a non-connection error are retried one by one; those that
still fail go to the dead-letter stream ``wb:dead`` of their shard (and are counted in
``dead_lettered``) so one poison entry cannot stall a shard.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from implementations.redis._base import RedisSubject

__all__ = ["WriteBehind", "write_behind"]

FullPolicy = Literal["write-through", "block", "fail"]
GROUP = "flush"


class WriteBehind(RedisSubject):
    durable = True

    def __init__(self, env: Any, *, batch_size: int = 64, flush_interval: float = 1.0,
                 max_retries: int = 3, backoff: float = 0.05, max_queue: int = 10_000,
                 full_policy: FullPolicy = "write-through", background: bool = True) -> None:
        super().__init__(env)
        if full_policy not in ("write-through", "block", "fail"):
            raise ValueError(f"full_policy {full_policy!r}: expected write-through, block or fail")
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_queue = max_queue
        self.full_policy = full_policy
        self.consumer = f"i{getattr(env, 'instance', 0)}"
        self.dead_lettered = 0
        self._stopping = False
        self._grouped: set[str] = set()
        if background:
            env.spawn(self._worker)

    # --- writes -------------------------------------------------------------------------
    def _stream(self, shard: int) -> str:
        return self.keys.in_shard(shard, "wb")

    def write(self, key: str, value: str) -> None:
        tag = self.keys.tag(self.keys.shard(key))
        names = [f"{tag}c:{key}", f"{tag}m:{key}", tag + "wb"]
        while True:
            if self.scripts.wb_write(keys=names, args=[key, value, self.max_queue, len(key)]):
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
        for shard in range(self.keys.shards):
            self._flush_shard(shard, claim=True)

    def close(self) -> None:
        """Graceful shutdown: stop the worker and drain."""
        self._stopping = True
        self.flush()

    def _worker(self) -> None:
        while not self._stopping:
            self.env.clock.sleep(self.flush_interval)
            if self._stopping:
                return
            for shard in range(self.keys.shards):
                try:
                    self._flush_shard(shard, claim=False)
                except (ConnectionError, TimeoutError):
                    break  # the next interval retries; entries stay pending

    def _ensure_group(self, stream: str) -> None:
        try:
            # id 0: entries queued before the group existed are delivered too.
            self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except Exception as exc:  # redis.ResponseError, imported lazily elsewhere
            if "BUSYGROUP" not in str(exc):
                raise

    def _read(self, stream: str, start: str) -> list[tuple[str, tuple[str, str, int] | None]]:
        """Up to batch_size entries as (id, (key, value, version)); None for an entry
        deleted while pending."""
        try:
            raw = self.scripts.wb_read(keys=[stream], args=[GROUP, self.consumer,
                                                            self.batch_size, start])
        except Exception as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._ensure_group(stream)  # lost with a restart of a non-persistent Redis
            return []
        return [(entry_id, _unpack(fields)) for entry_id, fields in json.loads(raw)]

    def _flush_shard(self, shard: int, *, claim: bool) -> None:
        stream = self._stream(shard)
        if int(self.redis.xlen(stream)) == 0:
            return
        if stream not in self._grouped:
            self._ensure_group(stream)
            self._grouped.add(stream)
        if claim:
            self.redis.xautoclaim(stream, GROUP, self.consumer, min_idle_time=0,
                                  start_id="0-0", count=1_000_000, justid=True)
        while True:
            # My pending entries first (a redelivery after a crash), then new ones.
            batch = self._read(stream, "0") or self._read(stream, ">")
            if not batch:
                return
            self._commit(stream, batch)

    def _commit(self, stream: str, batch: list[tuple[str, tuple[str, str, int] | None]]) -> None:
        latest: dict[str, tuple[str, int]] = {}
        for _, entry in batch:
            if entry is None:
                continue  # deleted while pending: nothing to write
            key, value, version = entry
            if key not in latest or latest[key][1] < version:
                latest[key] = (value, version)  # coalescing: one row per key
        items = [(k, v, n) for k, (v, n) in latest.items()]
        if items:
            self._put_with_retries(stream, items)
        ids = [entry_id for entry_id, _ in batch]
        metas = [self.keys.beside(k, "m:" + k) for k in latest]
        self.scripts.wb_ack(keys=[stream, *metas],
                            args=[GROUP, len(ids), *ids, *(str(n) for _, n in latest.values())])

    def _put_with_retries(self, stream: str, items: list[tuple[str, str, int]]) -> None:
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
                self.redis.xadd(stream + ":dead", {"k": key, "v": value, "n": str(version),
                                                   "error": str(exc)[:500]})
                self.dead_lettered += 1


def _unpack(fields: Any) -> tuple[str, str, int] | None:
    # An entry is e = "VERSION:KEYVALUE" and l = len(KEY): one field to parse, and no
    # separator that a key or value could contain. cjson turns a deleted entry's
    # missing fields into an empty object or array.
    if not fields:
        return None
    flat = dict(zip(fields[::2], fields[1::2]))
    version, _, rest = flat["e"].partition(":")
    split = int(flat["l"])
    return rest[:split], rest[split:], int(version)


def write_behind(env: Any) -> WriteBehind:
    return WriteBehind(env)
