"""Lua steps shared by the Redis implementations, and the per-key protocol they implement.

Each key K has, in one cluster slot (``env.redis_keys.beside``):

* the cache entry ``entry(K)``: hash ``v`` value, ``x`` virtual expiry (``""`` none);
* its meta hash ``m:K``: ``n`` the latest version handed out, ``e`` the meta's epoch
  (set when it is created, so a lost meta is detected), ``p`` the version of a synchronous
  write in flight (fills are refused while set), ``d``/``dv`` a write-behind value (and
  version) acknowledged but not yet in the DB.

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

from typing import Any

__all__ = ["Scripts"]

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
local function live(entry, now)
  local e = redis.call('HMGET', entry, 'v', 'x')
  if not e[1] then return false end
  if e[2] and e[2] ~= '' and tonumber(now) >= tonumber(e[2]) then
    redis.call('DEL', entry); return false
  end
  return e[1]
end
"""

# KEYS: entry, meta. ARGV: now. -> {'hit', v} | {'miss', ticket} | {'nofill'}
READ = _LIB + """
local v = live(KEYS[1], ARGV[1])
if v then return {'hit', v} end
if not ensure_meta(KEYS[2]) then return {'nofill'} end
local m = redis.call('HMGET', KEYS[2], 'n', 'p', 'd')
if m[3] then
  -- acknowledged write-behind value not yet in the DB: it is the truth; re-cache it.
  redis.call('HSET', KEYS[1], 'v', m[3], 'x', '')
  return {'hit', m[3]}
end
if m[2] then return {'nofill'} end
return {'miss', m[1]}
"""

# KEYS: entry, meta. ARGV: ticket, value, expires_at, now -> 1 filled | 0 refused
FILL = _LIB + """
local m = redis.call('HMGET', KEYS[2], 'n', 'p', 'd')
if m[1] ~= ARGV[1] or m[2] or m[3] then return 0 end
if live(KEYS[1], ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'x', ARGV[3])
return 1
"""

# KEYS: entry, meta -> {version, epoch}
BEGIN = _LIB + """
local v = next_version(KEYS[2])
redis.call('HSET', KEYS[2], 'p', v)
redis.call('DEL', KEYS[1])
return {v, redis.call('HGET', KEYS[2], 'e')}
"""

# KEYS: entry, meta. ARGV: version, epoch, mode ('set'|'drop'), value, expires_at
# -> 1 if this write was still the latest
END = _LIB + """
local m = redis.call('HMGET', KEYS[2], 'n', 'e', 'dv')
if m[2] ~= ARGV[2] then
  -- the meta was lost (cache restart) while we wrote: a fill may be in flight with the
  -- value from before our DB write; a new version makes its ticket stale.
  redis.call('DEL', KEYS[1]); next_version(KEYS[2]); return 0
end
if m[1] ~= ARGV[1] then
  if not m[3] then redis.call('DEL', KEYS[1]) end
  return 0
end
redis.call('DEL', KEYS[1])
if ARGV[3] == 'set' then redis.call('HSET', KEYS[1], 'v', ARGV[4], 'x', ARGV[5]) end
redis.call('HDEL', KEYS[2], 'p', 'd', 'dv')
return 1
"""

# KEYS: entry, meta, stream. ARGV: key, value, max_len, len(key) in code points
# -> 1 queued | 0 full
# The hot path of write-behind: kept to a few commands and an integer reply.
WB_WRITE = """
if ARGV[3] ~= '0' and redis.call('XLEN', KEYS[3]) >= tonumber(ARGV[3]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = redis.call('HGET', KEYS[2], 'n')
local v
if n then
  v = string.format('%d', math.max(tonumber(n) + 1, now))
  redis.call('HSET', KEYS[2], 'n', v, 'd', ARGV[2], 'dv', v)
  redis.call('HDEL', KEYS[2], 'p')
else
  v = string.format('%d', now)
  redis.call('HSET', KEYS[2], 'e', v, 'n', v, 'd', ARGV[2], 'dv', v)
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'x', '')
redis.call('XADD', KEYS[3], '*', 'e', v .. ':' .. ARGV[1] .. ARGV[2], 'l', ARGV[4])
return 1
"""

# KEYS: stream. ARGV: group, consumer, count, start -> JSON [[id, [field, value, ...]], ...]
# One bulk reply parsed by json (C) instead of redis-py's per-field RESP parsing: that
# parsing, not the DB, bounded the flush rate.
WB_READ = """
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
                     'STREAMS', KEYS[1], ARGV[4])
if not r or not r[1] then return '[]' end
return cjson.encode(r[1][2])
"""

# KEYS: stream, meta_1..meta_k. ARGV: group, m, id_1..id_m, version_1..version_k
# Acknowledge (and delete) committed entries; a key stops being pending only if no newer
# write was queued meanwhile.
WB_ACK = """
local m = tonumber(ARGV[2])
for i = 1, m do
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2 + i])
  redis.call('XDEL', KEYS[1], ARGV[2 + i])
end
for j = 2, #KEYS do
  if redis.call('HGET', KEYS[j], 'dv') == ARGV[2 + m + j - 1] then
    redis.call('HDEL', KEYS[j], 'd', 'dv')
  end
end
return m
"""


class Scripts:
    """The scripts registered on one client (EVALSHA, reloaded after a server restart)."""

    def __init__(self, client: Any) -> None:
        self.read = client.register_script(READ)
        self.fill = client.register_script(FILL)
        self.begin = client.register_script(BEGIN)
        self.end = client.register_script(END)
        self.wb_write = client.register_script(WB_WRITE)
        self.wb_ack = client.register_script(WB_ACK)
        self.wb_read = client.register_script(WB_READ)
