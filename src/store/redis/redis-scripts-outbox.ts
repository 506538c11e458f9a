/**
 * The outbox scripts of the Redis store: a batch of appends, an ack, a read. Bodies only:
 * src/store/redis/redis-scripts.ts puts the prelude (redis-scripts-prelude.ts,
 * redis-scripts-record.ts) before each.
 */

/**
 * A batch of appends to one session, in order: what a turn of sends to the session left.
 * ARGV: overflow, maxBytes, window, maxIds, count, then `p`, the time and one data per
 * message (no id, no key, one time: the usual batch), or `f` and per message: time, data,
 * id, key. A message's bytes are its data's UTF-8 length. Each message is appended exactly as `appendMessage` (src/store/session-append.ts)
 * would, one after the other; the record is read and written once for the batch (a script
 * call costs ~10 µs of Redis CPU before it does anything: one per message capped the store
 * at ~40k appends/s). Reply: per message, its status letter, then for `s` the seq, the
 * dropped count, the dropped messages and 1 + the superseded one or 0; for `d` the seq. When
 * every message was stored with nothing dropped or superseded: `S` and the last seq.
 */
export const APPEND = `
local overflow, maxBytes, window, maxIds = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local count = tonumber(ARGV[11])
-- 'p' (plain: no id, no key, one time): ARGV[13] is the time, then one data per message.
-- 'f' (full): per message: time, data, id, key.
local plain = ARGV[12] == 'p'
local plainNow = plain and tonumber(ARGV[13]) or 0
local s = load()
local out = {}
if not s then
  for i = 1, count do out[i] = 'u' end
  return out
end
local reset = checkStream(s)
local changed, headChanged = reset, reset
local runs = nil
for i = 0, count - 1 do
  local now, data, id, key
  if plain then
    now, data, id, key = plainNow, ARGV[14 + i], '', ''
  else
    local at = 13 + i * 4
    now, data, id, key = tonumber(ARGV[at]), ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  end
  -- Bytes counted against the bound: the UTF-8 length of the data (Lua counts bytes).
  local bytes = #data
  local done = false
  if id ~= '' then
    -- Forget the ids whose window passed (oldest first), then look this one up.
    forgetExpired(OI, OV, window, now)
    local v = redis.call('HGET', OV, id)
    if v then
      local t, seq = string.match(v, '^(%d+):(%d+)$')
      if tonumber(t) + window > now then
        out[#out + 1] = 'd'
        out[#out + 1] = tonumber(seq)
        done = true
      else
        redis.call('ZREM', OI, id)
        redis.call('HDEL', OV, id)
      end
    end
  end
  if not done and (bytes > maxBytes or MAX_MESSAGES < 1) then
    out[#out + 1] = 'f'
    done = true
  end
  local sup = nil
  if not done and key ~= '' and s.n > 0 then
    local seq = redis.call('HGET', K, key)
    if seq then
      local e = redis.call('XRANGE', O, seq .. '-0', seq .. '-0')
      if #e == 1 then sup = entry(e[1]) end
    end
  end
  if not done then
    local supN, supB = 0, 0
    if sup then supN, supB = 1, sup.b end
    local fits = s.n - supN < MAX_MESSAGES and s.b - supB + bytes <= maxBytes
    if not fits and overflow ~= 'drop-oldest' then
      out[#out + 1] = 'f'
      done = true
    end
  end
  if not done then
    changed = true
    out[#out + 1] = 's'
    local seqAt = #out + 1
    out[seqAt] = 0
    out[seqAt + 1] = 0
    if s.n == 0 then headChanged = true end
    if sup then
      redis.call('XDEL', O, sup.seq .. '-0')
      removed(s, sup)
      headChanged = true
    end
    local dropped = 0
    while s.n > 0 and (s.n >= MAX_MESSAGES or s.b + bytes > maxBytes) do
      local m = head()
      if not m then break end
      redis.call('XDEL', O, m.seq .. '-0')
      removed(s, m)
      runs = runs or loadRuns(s)
      addLoss(s, runs, m.seq)
      put(out, m)
      dropped = dropped + 1
      headChanged = true
    end
    local seq = s.l + 1
    s.l = seq
    local t = now
    if s.tn > t then t = s.tn end
    s.tn = t
    s.tnNew = true
    if id ~= '' and key ~= '' then
      redis.call('XADD', O, seq .. '-0', 'd', data, 'b', bytes, 't', t, 'i', id, 'k', key)
    elseif id ~= '' then
      redis.call('XADD', O, seq .. '-0', 'd', data, 'b', bytes, 't', t, 'i', id)
    elseif key ~= '' then
      redis.call('XADD', O, seq .. '-0', 'd', data, 'b', bytes, 't', t, 'k', key)
    else
      redis.call('XADD', O, seq .. '-0', 'd', data, 'b', bytes, 't', t)
    end
    s.n = s.n + 1
    s.b = s.b + bytes
    if key ~= '' then redis.call('HSET', K, key, seq) end
    if id ~= '' and window > 0 and maxIds > 0 then
      local c = redis.call('HINCRBY', S, 'ic', 1)
      redis.call('ZADD', OI, c, id)
      redis.call('HSET', OV, id, now .. ':' .. seq)
      if redis.call('ZCARD', OI) > maxIds then
        local old = redis.call('ZPOPMIN', OI)
        redis.call('HDEL', OV, old[1])
      end
    end
    out[seqAt] = seq
    out[seqAt + 1] = dropped
    if sup then
      out[#out + 1] = 1
      put(out, sup)
    else
      out[#out + 1] = 0
    end
  end
end
if runs then saveRuns(s, runs) end
if changed then save(s, headChanged) end
-- All stored, nothing dropped or superseded (the usual batch): the last seq says it all.
if #out == count * 4 then
  local simple = true
  for i = 0, count - 1 do
    if out[i * 4 + 1] ~= 's' or out[i * 4 + 3] ~= 0 or out[i * 4 + 4] ~= 0 then simple = false break end
  end
  if simple then return { 'S', s.l } end
end
return out
`;

/** ARGV: seq. */
export const ACK = `
local s = load()
if not s then return { 'u' } end
local seq = tonumber(ARGV[7])
if checkStream(s) then save(s, true) end
if seq > s.l then return { 'b', s.l } end
local advanced = seq > s.a
local removedCount, newest = applyAck(s, seq)
if advanced then save(s, removedCount > 0) end
return { 'o', s.a, removedCount, newest or -1 }
`;

/** ARGV: after, limit. */
export const READ = `
local s = load()
if not s then return { 'u' } end
local after, limit = tonumber(ARGV[7]), tonumber(ARGV[8])
local reset = checkStream(s)
local out = { 'o', s.l, 0 }
local expired = expirePrefix(s, out)
out[3] = expired
if expired > 0 or reset then save(s, true) end
if limit > 0 and s.n > 0 then
  local c = limit
  if c > s.n then c = s.n end
  local rows = redis.call('XRANGE', O, (after + 1) .. '-0', '+', 'COUNT', c)
  for _, e in ipairs(rows) do put(out, entry(e)) end
end
out[2] = s.l
-- The highest lost seq above the ack (the last run's end), after this read's expiries.
out[#out + 1] = tonumber(string.match(s.lr or '', '(%d+)$') or '0')
return out
`;
