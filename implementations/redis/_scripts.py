"""Lua steps shared by the Redis implementations, and the per-key protocol they implement.

Each key K has, in one cluster slot (``env.redis_keys.beside``):

* the cache entry ``entry(K)``: hash ``v`` value, ``x`` virtual expiry (``""`` none);
* its meta hash ``m:K``: ``n`` the latest version handed out, ``e`` the meta's epoch
  (set when it is created, so a lost meta is detected), ``p`` the version of a synchronous
  write in flight (fills are refused while set), ``d``/``dv``/``di`` a write-behind value,
  its version and its entry id on the shard's stream ``wb``: acknowledged, and pending for
  as long as that stream entry exists (the flush deletes it after the DB commit). The
  mark is cleared lazily by the next READ/FILL that finds the entry gone, so a flush
  acknowledges a whole batch with one XACK and one XDEL instead of a step per key.

Versions are ``max(n + 1, Redis TIME in µs)``: increasing per key, and still above every
version already in the DB after the meta was lost with a cache restart.

Protocol (proved safe in proofs/ as ``wt-versioned`` / ``ca-lease``):

* write: BEGIN (new version, mark in flight, drop the entry) -> DB put with that version
  -> END (set or drop the entry if still the latest version; clear the mark).
* read: READ (hit; or a pending write-behind value; or a miss with a fill ticket = the
  version seen) -> DB get -> FILL (only if no version was handed out since, nothing is
  in flight and nothing is pending).

A fill that read the DB before a write landed can therefore never be cached after it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

__all__ = ["Script", "Scripts"]

_LIB = """
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function fmt(x) return string.format('%d', x) end
local function ensure_meta(meta)
  if redis.call('EXISTS', meta) == 0 then
    local s = fmt(now_us())
    redis.call('HSET', meta, 'e', s, 'n', s)
    return false
  end
  return true
end
local function next_version(meta)
  ensure_meta(meta)
  local n = tonumber(redis.call('HGET', meta, 'n') or '0')
  local v = fmt(math.max(n + 1, now_us()))
  redis.call('HSET', meta, 'n', v)
  return v
end
-- a write-behind value is pending while its stream entry exists (none recorded: a mark
-- from before ids were recorded, pending until an END clears it).
local function pending(stream, id)
  if not id then return true end
  return #redis.call('XRANGE', stream, id, id) > 0
end
local function live(entry, now)
  local e = redis.call('HMGET', entry, 'v', 'x')
  if not e[1] then return false end
  if e[2] and e[2] ~= '' and tonumber(now) >= tonumber(e[2]) then
    redis.call('DEL', entry); return false
  end
  return e[1]
end
"""

# KEYS: entry, meta, stream. ARGV: now. -> {'hit', v} | {'miss', ticket} | {'nofill'}
READ = _LIB + """
local v = live(KEYS[1], ARGV[1])
if v then return {'hit', v} end
if not ensure_meta(KEYS[2]) then return {'nofill'} end
local m = redis.call('HMGET', KEYS[2], 'n', 'p', 'd', 'di')
if m[3] then
  if pending(KEYS[3], m[4]) then
    -- acknowledged write-behind value not yet in the DB: it is the truth; re-cache it.
    redis.call('HSET', KEYS[1], 'v', m[3], 'x', '')
    return {'hit', m[3]}
  end
  redis.call('HDEL', KEYS[2], 'd', 'dv', 'di')  -- flushed: the DB has it (or newer)
end
if m[2] then return {'nofill'} end
return {'miss', m[1]}
"""

# KEYS: entry, meta, stream. ARGV: ticket, value, expires_at, now -> 1 filled | 0 refused
FILL = _LIB + """
local m = redis.call('HMGET', KEYS[2], 'n', 'p', 'd', 'di')
if m[1] ~= ARGV[1] or m[2] then return 0 end
if m[3] then
  if pending(KEYS[3], m[4]) then return 0 end
  redis.call('HDEL', KEYS[2], 'd', 'dv', 'di')
end
if live(KEYS[1], ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'x', ARGV[3])
return 1
"""

# Version arithmetic without string.format on the hot paths: TIME's µs as a decimal string
# (seconds .. six digits), compared numerically with n (< 2^53, exact in Lua's doubles).
_NOW_VERSION = """
local t = redis.call('TIME')
local v = t[1] .. string.sub('00000' .. t[2], -6)
"""

# KEYS: entry, meta -> {version, epoch}
# One HMGET, one HSET, one DEL: a new version max(n + 1, now µs), marked in flight.
BEGIN = _NOW_VERSION + """
local m = redis.call('HMGET', KEYS[2], 'n', 'e')
local e = m[2]
if m[1] then
  local n = tonumber(m[1])
  if n >= tonumber(v) then v = string.format('%d', n + 1) end
  redis.call('HSET', KEYS[2], 'n', v, 'p', v)
else
  -- a new (or lost) meta: its epoch is its creation time, the version comes after it.
  e = v
  v = string.format('%d', tonumber(v) + 1)
  redis.call('HSET', KEYS[2], 'e', e, 'n', v, 'p', v)
end
redis.call('DEL', KEYS[1])
return {v, e}
"""

# KEYS: entry, meta. ARGV: version, epoch, mode ('set'|'drop'), value, expires_at
# -> 1 if this write was still the latest
END = """
local m = redis.call('HMGET', KEYS[2], 'n', 'e', 'dv')
if m[2] ~= ARGV[2] then
  -- the meta was lost (cache restart) while we wrote: a fill may be in flight with the
  -- value from before our DB write; a new version makes its ticket stale.
  redis.call('DEL', KEYS[1])
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if m[1] then
    redis.call('HSET', KEYS[2], 'n', string.format('%d', math.max(tonumber(m[1]) + 1, now)))
  else
    redis.call('HSET', KEYS[2], 'e', string.format('%d', now), 'n', string.format('%d', now + 1))
  end
  return 0
end
if m[1] ~= ARGV[1] then
  if not m[3] then redis.call('DEL', KEYS[1]) end
  return 0
end
if ARGV[3] == 'set' then
  -- our own entry fields are v and x only: HSET replaces both.
  redis.call('HSET', KEYS[1], 'v', ARGV[4], 'x', ARGV[5])
else
  redis.call('DEL', KEYS[1])
end
if m[3] then redis.call('HDEL', KEYS[2], 'p', 'd', 'dv', 'di') else redis.call('HDEL', KEYS[2], 'p') end
return 1
"""

# KEYS: entry, meta, stream. ARGV: key, value, max_len, len(key) in code points
# -> 1 queued | 0 full
# The hot path of write-behind: six commands in the common case (XLEN, TIME, HMGET,
# XADD, HSET meta, HSET entry) and an integer reply.
WB_WRITE = _NOW_VERSION + """
if ARGV[3] ~= '0' and redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[3]) then return 0 end
local m = redis.call('HMGET', KEYS[2], 'n', 'p')
if m[1] then
  local n = tonumber(m[1])
  if n >= tonumber(v) then v = string.format('%d', n + 1) end
  if m[2] then redis.call('HDEL', KEYS[2], 'p') end
end
local id = redis.call('XADD', KEYS[3], '*', 'e', v .. ':' .. ARGV[1] .. ARGV[2], 'l', ARGV[4])
if m[1] then
  redis.call('HSET', KEYS[2], 'n', v, 'd', ARGV[2], 'dv', v, 'di', id)
else
  redis.call('HSET', KEYS[2], 'e', v, 'n', v, 'd', ARGV[2], 'dv', v, 'di', id)
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'x', '')
return 1
"""

# KEYS: stream. ARGV: group, consumer, count, claim ('1' | '0')
# -> XREADGROUP's entries as JSON: [[id, ["e", e, "l", l]], ...] (fields false or {}: the
#    entry was deleted while pending)
# One round trip per shard and round: the consumer group is created when missing (lost
# with a restart of a non-persistent Redis), other instances' in-flight entries are
# claimed when asked (idempotent: replays are versioned), then this consumer's own pending
# entries (a redelivery after a crash) or else new ones are read.
WB_TAKE = """
if redis.call('XLEN', KEYS[1]) == 0 then return '[]' end
local function group_missing(r)
  if type(r) == 'table' and r.err then
    if not string.find(r.err, 'NOGROUP', 1, true) then error(r) end
    redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0')
    return true
  end
  return false
end
local function read(start)
  local args = {'XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS', KEYS[1], start}
  local r = redis.pcall(unpack(args))
  if group_missing(r) then r = redis.call(unpack(args)) end
  if not r or not r[1] then return {} end
  return r[1][2]
end
if ARGV[4] == '1' then
  local cursor = '0-0'
  repeat
    local r = redis.pcall('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, cursor,
                          'COUNT', 1000, 'JUSTID')
    if group_missing(r) then cursor = '0-0' else cursor = r[1] end
  until cursor == '0-0'
end
local entries = read('0')
if #entries == 0 then entries = read('>') end
if #entries == 0 then return '[]' end
-- one JSON bulk string: cjson (C) on the server and json (C) in the client, instead of
-- turning every entry into a reply array and parsing it field by field.
return cjson.encode(entries)
"""

# KEYS: stream. ARGV: group, id_1..id_m
# Acknowledge and delete committed entries. Deleting an entry is what ends its key's
# pending mark (see `pending`): a key whose newer write was queued meanwhile stays
# pending, since its mark names the newer entry. Deleting one by one (XDEL) costs more
# than the rest of a flush together, so the stream is trimmed instead below the oldest
# entry some consumer still holds (or, none held, the first one not yet delivered): every
# entry below it is acknowledged. Acknowledged entries above it (acks out of order,
# several instances) are deleted one by one.
WB_ACK = """
for i = 2, #ARGV, 4000 do
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, i, math.min(i + 3999, #ARGV)))
end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function below(a, b)  -- id a < id b
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local floor
local held = redis.call('XPENDING', KEYS[1], ARGV[1])
if tonumber(held[1]) > 0 then
  floor = held[2]
else
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    if info['name'] == ARGV[1] then
      local ms, seq = parse(info['last-delivered-id'])
      floor = string.format('%d-%d', ms, seq + 1)
    end
  end
end
if not floor then return 0 end
redis.call('XTRIM', KEYS[1], 'MINID', '=', floor)
local rest = {}
for i = 2, #ARGV do
  if not below(ARGV[i], floor) then rest[#rest + 1] = ARGV[i] end
end
for i = 1, #rest, 4000 do
  redis.call('XDEL', KEYS[1], unpack(rest, i, math.min(i + 3999, #rest)))
end
return #ARGV - 1
"""


class Script:
    """One Lua script called as EVALSHA through ``client.execute_command``: one round trip,
    no SCRIPT EXISTS, no per-call imports (redis-py's ``Script.__call__`` does both an
    import and a pipeline check per call). Loaded again after a server restart."""

    __slots__ = ("client", "source", "sha")

    def __init__(self, client: Any, source: str) -> None:
        self.client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        try:
            return self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except Exception as exc:  # redis.exceptions.NoScriptError (its text drops "NOSCRIPT")
            if type(exc).__name__ != "NoScriptError":
                raise
        self.load()
        return self.client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)

    def load(self) -> None:
        self.sha = self.client.script_load(self.source)


class Scripts:
    """The scripts registered on one client (EVALSHA, reloaded after a server restart)."""

    def __init__(self, client: Any) -> None:
        self.read = Script(client, READ)
        self.fill = Script(client, FILL)
        self.begin = Script(client, BEGIN)
        self.end = Script(client, END)
        self.wb_write = Script(client, WB_WRITE)
        self.wb_ack = Script(client, WB_ACK)
        self.wb_take = Script(client, WB_TAKE)
