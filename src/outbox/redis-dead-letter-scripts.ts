/**
 * The Lua scripts of the Redis dead-letter store (src/outbox/redis-dead-letters.ts, which
 * describes the keys): add (bounded by count and bytes), delete, a chunk of a filtered list,
 * a chunk of a purge, claim, unclaim and stats. Every script that adds or removes an entry
 * moves the `bytes` counter in the same script.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run by EVALSHA, with EVAL when the server does not have it (NOSCRIPT). */
class LuaScript {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Sends EVALSHA now (synchronously); a NOSCRIPT answer sends the script with EVAL. */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return redis.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT'))
        return redis.eval(this.lua, keys.length, ...keys, ...args);
      throw error;
    });
  }
}

/**
 * Shared by the scripts that add or remove entries (KEYS[1] the stream, KEYS[2] the stats):
 * `sizeOf(f)`, the byte length of the `data` of entry fields `f`; `heldBytes()`, the `bytes`
 * counter (0 when the stream is empty, whatever it says); `setBytes(n)`, which writes it.
 */
const BYTES = `
local function sizeOf(f)
  for j = 1, #f, 2 do
    if f[j] == 'data' then return #f[j + 1] end
  end
  return 0
end
local function heldBytes()
  if redis.call('XLEN', KEYS[1]) == 0 then return 0 end
  return math.max(0, tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0') or 0)
end
local function setBytes(n)
  if n < 0 or redis.call('XLEN', KEYS[1]) == 0 then n = 0 end
  redis.call('HSET', KEYS[2], 'bytes', string.format('%d', n))
end
`;

/** Most entries the add script reads per XRANGE when it makes room. */
const EVICT_STEP = 64;

/**
 * KEYS: stream, stats. ARGV: max, sid, reason, data, at, seq ('' for none), maxBytes.
 * Deletes the oldest entries until the new one fits both bounds (each counted in `evicted`),
 * then adds it. Returns the new entry's id, or false when nothing is kept (max 0, or data
 * longer than maxBytes by itself: counted as evicted, the other entries stay).
 */
export const ADD = new LuaScript(`${BYTES}
local max = tonumber(ARGV[1])
local maxBytes = tonumber(ARGV[7])
local size = #ARGV[4]
redis.call('HINCRBY', KEYS[2], 'added:' .. ARGV[3], 1)
if max <= 0 or size > maxBytes then
  redis.call('HINCRBY', KEYS[2], 'evicted', 1)
  return false
end
local length = redis.call('XLEN', KEYS[1])
local bytes = heldBytes()
local evicted = 0
local step = 1
while length > 0 and (length >= max or bytes + size > maxBytes) do
  -- As many as the count bound needs, else 1, 2, 4 … (entries may be big): at most EVICT_STEP.
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT',
    math.min(math.max(length - max + 1, step), ${EVICT_STEP}))
  step = step * 2
  if #oldest == 0 then break end
  local gone = {}
  for _, e in ipairs(oldest) do
    if length < max and bytes + size <= maxBytes then break end
    gone[#gone + 1] = e[1]
    bytes = bytes - sizeOf(e[2])
    length = length - 1
  end
  redis.call('XDEL', KEYS[1], unpack(gone))
  evicted = evicted + #gone
end
local id
if ARGV[6] == '' then
  id = redis.call('XADD', KEYS[1], '*',
    'sid', ARGV[2], 'reason', ARGV[3], 'at', ARGV[5], 'data', ARGV[4])
else
  id = redis.call('XADD', KEYS[1], '*',
    'sid', ARGV[2], 'reason', ARGV[3], 'at', ARGV[5], 'seq', ARGV[6], 'data', ARGV[4])
end
setBytes(bytes + size)
if evicted > 0 then redis.call('HINCRBY', KEYS[2], 'evicted', evicted) end
return id
`);

/** KEYS: stream, stats. ARGV: id. Deletes the entry and its bytes; 1 when it was there. */
export const DELETE = new LuaScript(`${BYTES}
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1], 'COUNT', 1)
if #e == 0 then return 0 end
local bytes = heldBytes() - sizeOf(e[1][2])
redis.call('XDEL', KEYS[1], ARGV[1])
setBytes(bytes)
return 1
`);

/** Shared by the scanning scripts: whether entry fields `f` match the filter in ARGV[3..6]. */
const MATCHES = `
local function matches(f)
  local sid, reason
  for j = 1, #f, 2 do
    if f[j] == 'sid' then sid = f[j + 1] elseif f[j] == 'reason' then reason = f[j + 1] end
  end
  return (ARGV[3] == '0' or reason == ARGV[4]) and (ARGV[5] == '0' or sid == ARGV[6])
end
`;

/** Entries a list chunk reads per XRANGE (a chunk of big entries is not read at once). */
const LIST_STEP = 32;

/**
 * A bounded chunk of a list, filtered or with a byte budget. KEYS: stream. ARGV: after ('' for
 * the start), limit, hasReason, reason, hasSid, sid, chunk, maxBytes (-1 for none), entries
 * and bytes already taken by previous chunks. It examines at most `chunk` entries, reading
 * LIST_STEP at a time, and stops after `limit` matches or after the first match past the
 * budget (the first entry of the whole list never counts as past it).
 * Returns {last id examined ('' if none), 1 when the stream's end was reached, the stream's
 * length, matching entries, bytes taken (previous chunks included)}.
 */
export const LIST_CHUNK = new LuaScript(`${MATCHES}
local after = ARGV[1]
local limit = tonumber(ARGV[2])
local chunk = tonumber(ARGV[7])
local maxBytes = tonumber(ARGV[8])
local count = tonumber(ARGV[9])
local taken = tonumber(ARGV[10])
local out = {}
local last = after
local examined = 0
local done = 0
local full = false
while examined < chunk and not full do
  local step = math.min(${LIST_STEP}, chunk - examined)
  local entries = redis.call('XRANGE', KEYS[1], last == '' and '-' or '(' .. last, '+',
    'COUNT', step)
  for _, e in ipairs(entries) do
    examined = examined + 1
    last = e[1]
    if matches(e[2]) then
      out[#out + 1] = e
      for j = 1, #e[2], 2 do
        if e[2][j] == 'data' then taken = taken + #e[2][j + 1] end
      end
      if #out >= limit or (maxBytes >= 0 and count + #out > 1 and taken > maxBytes) then
        full = true
        break
      end
    end
  end
  if not full and #entries < step then
    done = 1
    break
  end
end
return {last, done, redis.call('XLEN', KEYS[1]), out, taken}
`);

/**
 * A bounded chunk of a purge. KEYS: stream, stats. ARGV: after ('' for the start), end id
 * (inclusive), hasReason, reason, hasSid, sid, chunk.
 * Returns {last id examined ('' if none), 1 when `end` was reached, entries deleted}.
 */
export const PURGE_CHUNK = new LuaScript(`${MATCHES}${BYTES}
local from = ARGV[1] == '' and '-' or '(' .. ARGV[1]
local chunk = tonumber(ARGV[7])
local entries = redis.call('XRANGE', KEYS[1], from, ARGV[2], 'COUNT', chunk)
local gone = {}
local freed = 0
local last = ARGV[1]
for _, e in ipairs(entries) do
  last = e[1]
  if matches(e[2]) then
    gone[#gone + 1] = e[1]
    freed = freed + sizeOf(e[2])
  end
end
if #gone > 0 then
  local bytes = heldBytes() - freed
  redis.call('XDEL', KEYS[1], unpack(gone))
  setBytes(bytes)
end
return {last, #entries < chunk and 1 or 0, #gone}
`);

/** KEYS: stream, claim. ARGV: id, ttl ms, token. 1 when claimed, 0 when held or gone. */
export const CLAIM = new LuaScript(`
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1], 'COUNT', 1) == 0 then return 0 end
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`);

/** KEYS: claim. ARGV: token. Releases the claim only if it is this store's. */
export const UNCLAIM = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`);

/** KEYS: stream, stats. Returns {length, HGETALL of stats, bytes held}. */
export const STATS = new LuaScript(`${BYTES}
return {redis.call('XLEN', KEYS[1]), redis.call('HGETALL', KEYS[2]), heldBytes()}
`);
