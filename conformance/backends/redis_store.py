"""The raw cache and the durable queues on Redis, with expiry on the harness's virtual clock.

Key layout (public: docs/REDIS.md; subjects reach it through ``env.redis_keys``):

* every key name is ``PREFIX{sN}REST`` where ``N = crc32(key) % shards``. The ``{sN}``
  hash tag puts a cache entry and everything a subject keeps beside it (its version
  counter, its write-behind stream shard) in one cluster slot, so one Lua script or
  MULTI can touch them all, on a single server and on a Cluster alike.
* a cache entry is the hash ``PREFIX{sN}c:KEY`` with fields ``v`` (the value) and ``x``
  (the virtual expiry time, ``""`` for none); subjects may add their own fields (a
  version ``n``, a lease ``l``); they are dropped with the entry.

Redis' own TTLs run on the wall clock, but the harness *simulates* time (a clock advance
is instant), so expiry is decided in Lua by comparing ``x`` with the virtual ``now`` passed
by the caller: an entry is live while ``now < x``.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, Iterable, Protocol

import attrs

__all__ = ["RedisKeyspace", "RedisCache", "RedisQueue", "Clock", "check_prefix"]

_PREFIX = re.compile(r"[A-Za-z0-9_.:-]*")


class Clock(Protocol):
    def now(self) -> float: ...


def check_prefix(prefix: str) -> str:
    # Braces would change the hash tag; glob characters would break SCAN patterns.
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"prefix {prefix!r} may only contain letters, digits and _ . : -")
    return prefix


def _utf8(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


@attrs.frozen
class RedisKeyspace:
    """Where a run keeps its keys on Redis.

    Example::

        ks = RedisKeyspace("cc:run1:")
        ks.entry("user:1")          # 'cc:run1:{s7}c:user:1'
        ks.beside("user:1", "ver")  # 'cc:run1:{s7}ver' (same slot as the entry)
    """

    prefix: str = attrs.field(converter=check_prefix)
    shards: int = 16

    def shard(self, key: str) -> int:
        return zlib.crc32(_utf8(key)) % self.shards

    def tag(self, shard: int) -> str:
        return f"{self.prefix}{{s{shard}}}"

    def entry(self, key: str) -> str:
        return f"{self.tag(self.shard(key))}c:{key}"

    def beside(self, key: str, name: str) -> str:
        """A key named `name` in the slot of `key`'s cache entry."""
        return self.tag(self.shard(key)) + name

    def in_shard(self, shard: int, name: str) -> str:
        return self.tag(shard) + name

    def entry_pattern(self) -> str:
        return f"{self.prefix}{{s*}}c:*"

    def key_of(self, entry_name: str) -> str:
        """The user key of a cache entry's Redis key name."""
        return entry_name.split("}c:", 1)[1]

    def queue(self, name: str) -> str:
        # A named queue is one stream; its tag is its own name, so it has one slot.
        return f"{self.prefix}{{q:{name}}}"


# --- Lua: each script is one atomic step on one slot. -----------------------------------
# Returns the live value; an expired entry is deleted on the way (as Redis does lazily).
_GET = """
local e = redis.call('HMGET', KEYS[1], 'v', 'x')
if not e[1] then return false end
if e[2] and e[2] ~= '' and tonumber(ARGV[1]) >= tonumber(e[2]) then
  redis.call('DEL', KEYS[1]); return false
end
return e[1]
"""
# A plain set replaces the whole entry (a subject's version or lease fields included).
_SET = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'x', ARGV[2])
return 1
"""
# ARGV: now, has_expected ('0'|'1'), expected, value, expires_at
_CAS = """
local e = redis.call('HMGET', KEYS[1], 'v', 'x')
local cur = e[1]
if cur and e[2] and e[2] ~= '' and tonumber(ARGV[1]) >= tonumber(e[2]) then cur = false end
if ARGV[2] == '0' then
  if cur then return 0 end
elseif (not cur) or cur ~= ARGV[3] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'x', ARGV[5])
return 1
"""
# Removes the n oldest items of a queue stream atomically.
_ACK = """
local items = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[1]))
for _, item in ipairs(items) do redis.call('XDEL', KEYS[1], item[1]) end
return #items
"""


def _expiry(clock: Clock, ttl: float | None) -> str:
    return "" if ttl is None else repr(clock.now() + float(ttl))


@attrs.define(eq=False)
class RedisCache:
    """The raw cache (RawCache interface) on a redis-py client, virtual-clock TTLs."""

    client: Any
    clock: Clock
    keys: RedisKeyspace
    owns_client: bool = True  # False: a client shared across examples, closed by its owner
    _scripts: dict[str, Any] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        for name, body in (("get", _GET), ("set", _SET), ("cas", _CAS)):
            self._scripts[name] = self.client.register_script(body)

    def get(self, key: str) -> str | None:
        return self._scripts["get"](keys=[self.keys.entry(key)], args=[repr(self.clock.now())])

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self._scripts["set"](keys=[self.keys.entry(key)], args=[value, _expiry(self.clock, ttl)])

    def delete(self, key: str) -> None:
        self.client.delete(self.keys.entry(key))

    def cas(self, key: str, expected: str | None, value: str, ttl: float | None = None) -> bool:
        args = [repr(self.clock.now()), "0" if expected is None else "1", expected or "",
                value, _expiry(self.clock, ttl)]
        return bool(self._scripts["cas"](keys=[self.keys.entry(key)], args=args))

    # --- harness-only -------------------------------------------------------------------
    def _entry_names(self) -> list[str]:
        return list(self.client.scan_iter(match=self.keys.entry_pattern(), count=1000))

    def entries(self) -> dict[str, tuple[str, float | None]]:
        """Live entries: key -> (value, virtual expiry or None)."""
        now = self.clock.now()
        live: dict[str, tuple[str, float | None]] = {}
        for name in self._entry_names():
            value, expiry = self.client.hmget(name, "v", "x")
            if value is None:
                continue
            expires_at = float(expiry) if expiry else None
            if expires_at is None or now < expires_at:
                live[self.keys.key_of(name)] = (value, expires_at)
        return live

    def evict(self, key: str) -> None:
        self.client.delete(self.keys.entry(key))

    def clear(self) -> None:
        """What a restart without persistence does to the cache entries."""
        _delete_all(self.client, self._entry_names())

    def close(self) -> None:
        """Remove every key of this run (entries, queues, subjects' keys) and disconnect."""
        try:
            _delete_all(self.client, self.client.scan_iter(match=self.keys.prefix + "*",
                                                           count=1000))
        finally:
            if self.owns_client:
                self.client.close()


def _delete_all(client: Any, names: Iterable[str]) -> None:
    # One key per DEL: on a Cluster a multi-key DEL across slots is refused.
    for name in names:
        client.delete(name)


@attrs.define(eq=False)
class RedisQueue:
    """A durable queue (env.durable_queue) on one Redis Stream.

    The stream holds exactly the unacknowledged items, oldest first: `ack` deletes the
    n oldest entries in one Lua step, so a crash between a DB commit and `ack` redelivers
    (at-least-once), never loses.
    """

    client: Any
    name: str
    _ack: Any = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self._ack = self.client.register_script(_ACK)

    def push(self, item: str) -> None:
        self.client.xadd(self.name, {"i": item})

    def peek(self, n: int) -> list[str]:
        if n <= 0:
            return []
        return [fields["i"] for _, fields in self.client.xrange(self.name, count=n)]

    def ack(self, n: int) -> None:
        if n > 0:
            self._ack(keys=[self.name], args=[n])

    def __len__(self) -> int:
        return int(self.client.xlen(self.name))
