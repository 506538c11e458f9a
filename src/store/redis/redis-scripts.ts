/**
 * The Lua scripts of the Redis store: one per Store operation, each atomic and one round trip
 * (docs/scaling.md, "Keys and scripts"). They mirror the memory store step for step
 * (src/store/session-append.ts, session-state.ts), so that both pass one contract suite.
 *
 * Every session script gets the same KEYS (SESSION_KEYS, all under the session's partition
 * tag) and starts with the same ARGV: now, the store's generation, a fresh epoch (used only
 * if the stream must be reset), then its own arguments. Nothing is computed from a key name
 * inside a script, so Redis Cluster and strict proxies accept every call.
 *
 * The session HASH `s`: kh key hash, e epoch, g generation of its last write, c created,
 * l last seq, a acked, at attached (1/0), own owner token, x reap time (detached), n depth,
 * b bytes, tn newest enqueue time (enqueue times never go backwards within a session),
 * lr/lc loss runs and their count, ec "epoch changed, not told yet", ic/cq/ri counters of the
 * id, claim and result windows, rb result bytes.
 *
 * The outbox STREAM `o`: entry id `<seq>-0`, fields d (data), b (bytes), t (enqueued at),
 * optional i (id) and k (key). A message expires at t + ttl.
 *
 * Replies are flat arrays: a status letter, then numbers and 6-field messages
 * (seq, data, bytes, t, id or '', key or '').
 */

/** KEYS of every session script, in this order. */
export const SESSION_KEYS = [
  's', // HASH: the record
  'o', // STREAM: the outbox
  'k', // HASH: key -> seq of its retained message
  'oi', // ZSET: outbound ids in insertion order (score: counter)
  'ov', // HASH: outbound id -> "time:seq"
  'ci', // ZSET: inbound claims in insertion order (score: counter)
  'cc', // HASH: inbound id -> "time|p:<owner>" (pending) or "time|d" (done)
  'cr', // HASH: inbound id -> kept result
  'co', // ZSET: kept results in insertion order (score: counter)
] as const;

/** Partition index keys, after the session keys. */
export const PARTITION_KEYS = [
  'all', // ZSET (score 0): every live sid, listed lexicographically
  'due', // ZSET: sid -> its next deadline (head expiry, or reap time when detached)
  'st', // HASH: attached, messages, bytes
  'dep', // ZSET: sid -> depth * 2^32 + bytes
  'age', // ZSET: sid -> enqueue time of its oldest retained message (non-empty only)
] as const;

const PRELUDE = `
local S, O, K, OI, OV, CI, CC, CR, CO = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local ALL, DUE, ST, DEP, AGE = KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
-- The partition's key base: the set of sessions attached to a node is BASE:on:<node>, in
-- the same slot as the rest (its name depends on the stored owner, so it is not in KEYS).
local BASE = string.sub(ALL, 1, #ALL - 4)
local function onNode(owner) return BASE .. ':on:' .. owner end
local SID = ARGV[1]
local NOW = tonumber(ARGV[2])
local GEN = tonumber(ARGV[3])
local NEW_EPOCH = ARGV[4]
local TTL = tonumber(ARGV[5])
local MAX_MESSAGES = tonumber(ARGV[6])

local function num(v) if v then return tonumber(v) or 0 end return 0 end

-- One stream entry as a message tuple; fields come as a flat array.
local function entry(e)
  -- Fields are written in one order (d, b, t, then i and k when present): read by position.
  local f = e[2]
  local m = { seq = tonumber(string.match(e[1], '^(%d+)')), d = f[2], b = tonumber(f[4]), t = tonumber(f[6]), i = '', k = '' }
  for j = 7, #f, 2 do
    if f[j] == 'i' then m.i = f[j + 1] elseif f[j] == 'k' then m.k = f[j + 1] end
  end
  return m
end

local function put(out, m)
  out[#out + 1] = m.seq
  out[#out + 1] = m.d
  out[#out + 1] = m.b
  out[#out + 1] = m.t
  out[#out + 1] = m.i
  out[#out + 1] = m.k
end

local function head()
  local h = redis.call('XRANGE', O, '-', '+', 'COUNT', 1)
  if #h == 0 then return nil end
  return entry(h[1])
end

-- Loss runs, packed "from,to,from,to" (src/store/loss-runs.ts): at most 256 runs; past
-- that the two oldest merge (over-counting, never under-counting).
local function loadRuns(s)
  local runs = {}
  if s.lr and s.lr ~= '' then
    for v in string.gmatch(s.lr, '[^,]+') do runs[#runs + 1] = tonumber(v) end
  end
  return runs
end

local function saveRuns(s, runs)
  s.lr = table.concat(runs, ',')
  s.dirtyRuns = true
end

local function addLoss(s, runs, seq)
  local n = #runs
  s.lc = s.lc + 1
  if n > 0 and runs[n] == seq - 1 then runs[n] = seq return end
  runs[n + 1] = seq
  runs[n + 2] = seq
  if #runs > 512 then
    s.lc = s.lc + runs[3] - runs[2] - 1
    table.remove(runs, 2)
    table.remove(runs, 2)
  end
end

local function trimRuns(s, ack)
  if s.lc == 0 then return end
  local runs = loadRuns(s)
  local i = 1
  while i <= #runs do
    local from, to = runs[i], runs[i + 1]
    if to <= ack then
      s.lc = s.lc - (to - from + 1)
      i = i + 2
    else
      if from <= ack then
        s.lc = s.lc - (ack - from + 1)
        runs[i] = ack + 1
      end
      break
    end
  end
  local rest = {}
  for j = i, #runs do rest[#rest + 1] = runs[j] end
  saveRuns(s, rest)
end

local FIELDS = { 'kh', 'e', 'g', 'c', 'l', 'a', 'at', 'own', 'x', 'n', 'b', 'tn', 'lr', 'lc', 'ec' }

local function load()
  local v = redis.call('HMGET', S, unpack(FIELDS))
  if not v[1] then return nil end
  return {
    kh = v[1], e = v[2], g = num(v[3]), c = num(v[4]), l = num(v[5]), a = num(v[6]),
    at = v[7] == '1', own = v[8] or '', x = v[9], n = num(v[10]), b = num(v[11]),
    tn = num(v[12]), lr = v[13] or '', lc = num(v[14]), ec = v[15] == '1',
    n0 = num(v[10]), b0 = num(v[11]), at0 = v[7] == '1',
    l0 = num(v[5]), a0 = num(v[6]), ec0 = v[15] == '1',
  }
end

-- Forget the ids of a dedup window (ZSET Z in insertion order, HASH H id -> "time…")
-- whose time + window has passed, oldest first: O(expired).
local function forgetExpired(Z, H, window, now)
  while true do
    local h = redis.call('ZRANGE', Z, 0, 0)
    if #h == 0 then return end
    local v = redis.call('HGET', H, h[1])
    local t = v and tonumber(string.match(v, '^(%d+)')) or 0
    if t + window > now then return end
    redis.call('ZREM', Z, h[1])
    redis.call('HDEL', H, h[1])
  end
end

-- Forget the kept result of client message \`rid\` (and its bytes in the budget).
local function forgetResult(rid)
  local r = redis.call('HGET', CR, rid)
  if r then
    redis.call('HDEL', CR, rid)
    redis.call('ZREM', CO, rid)
    redis.call('HINCRBY', S, 'rb', -#r)
  end
end

-- The removal of one retained message: counts, and the key index if it points at it.
local function removed(s, m)
  s.n = s.n - 1
  s.b = s.b - m.b
  if m.k ~= '' and redis.call('HGET', K, m.k) == tostring(m.seq) then redis.call('HDEL', K, m.k) end
end

-- The stream may be gone or rolled back behind the record (a Redis restart from an older
-- snapshot, a failover, an eviction): a record written under an older generation, or a
-- stream whose length is not the record's depth. Then the stream starts over under a new
-- epoch; the next resume reports epoch_changed and ignores the client's ack.
local function checkStream(s)
  s.checked = true
  local stale = s.g < GEN
  if not stale and redis.call('XLEN', O) ~= s.n then stale = true end
  if not stale then return false end
  redis.call('DEL', O, K, OI, OV)
  s.e = NEW_EPOCH
  s.l = 0
  s.a = 0
  s.n = 0
  s.b = 0
  s.lr = ''
  s.lc = 0
  s.dirtyRuns = true
  s.ec = true
  s.reset = true
  return true
end

-- Remove and return the expired prefix of the outbox (each is a loss).
local function expirePrefix(s, out)
  if s.n == 0 then return 0 end
  local runs = nil
  local count = 0
  while true do
    local batch = redis.call('XRANGE', O, '-', '+', 'COUNT', 64)
    if #batch == 0 then break end
    local stop = false
    for _, e in ipairs(batch) do
      local m = entry(e)
      if m.t + TTL > NOW then stop = true break end
      redis.call('XDEL', O, e[1])
      removed(s, m)
      runs = runs or loadRuns(s)
      addLoss(s, runs, m.seq)
      if out then put(out, m) end
      count = count + 1
    end
    if stop or #batch < 64 then break end
  end
  if runs then saveRuns(s, runs) end
  return count
end

-- Apply a cumulative ack; returns how many messages it removed and the newest one's time.
local function applyAck(s, ack)
  if ack <= s.a then return 0, nil end
  s.a = ack
  trimRuns(s, ack)
  if s.n == 0 then return 0, nil end
  local gone = redis.call('XRANGE', O, '-', ack .. '-0', 'COUNT', s.n)
  local newest = nil
  -- The hot path of every delivered message: no table per entry, fields by position.
  for _, e in ipairs(gone) do
    local f = e[2]
    s.n = s.n - 1
    s.b = s.b - tonumber(f[4])
    newest = f[6]
    for j = 7, #f, 2 do
      if f[j] == 'k' and redis.call('HGET', K, f[j + 1]) == string.match(e[1], '^(%d+)') then
        redis.call('HDEL', K, f[j + 1])
      end
    end
  end
  if newest then newest = tonumber(newest) end
  if #gone > 0 then redis.call('XTRIM', O, 'MINID', (ack + 1) .. '-0') end
  return #gone, newest
end

-- Write the record back and bring the partition indexes up to date.
-- 'g' moves up to GEN only once checkStream has looked at the stream under GEN: a script
-- that saves without checking (detach, sweep) must not stamp the current generation on a
-- stale record, or its stream would never be reset (seqs reused after a snapshot restart).
local function save(s, headChanged)
  local g = s.g
  if s.checked then g = GEN end
  -- Only what changed: an append changes l, n, b and tn.
  local fields = {}
  local function set(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
  if s.l ~= s.l0 then set('l', s.l) end
  if s.a ~= s.a0 then set('a', s.a) end
  if s.n ~= s.n0 then set('n', s.n) end
  if s.b ~= s.b0 then set('b', s.b) end
  if g ~= s.g then set('g', g) end
  if s.at ~= s.at0 then set('at', s.at and '1' or '0') end
  if s.dirtyRuns then
    fields[#fields + 1] = 'lr'; fields[#fields + 1] = s.lr
    fields[#fields + 1] = 'lc'; fields[#fields + 1] = s.lc
  end
  if s.reset then
    fields[#fields + 1] = 'e'; fields[#fields + 1] = s.e
  end
  if s.ec ~= s.ec0 then set('ec', s.ec and '1' or '0') end
  if s.ownNew then set('own', s.own) end
  if s.tnNew then set('tn', s.tn) end
  if #fields > 0 then redis.call('HSET', S, unpack(fields)) end
  if s.xChanged then
    if s.x then redis.call('HSET', S, 'x', s.x) else redis.call('HDEL', S, 'x') end
  end
  local dn, db = s.n - s.n0, s.b - s.b0
  if dn ~= 0 then redis.call('HINCRBY', ST, 'messages', dn) end
  if db ~= 0 then redis.call('HINCRBY', ST, 'bytes', db) end
  if s.at ~= s.at0 then redis.call('HINCRBY', ST, 'attached', s.at and 1 or -1) end
  if dn ~= 0 or db ~= 0 then redis.call('ZADD', DEP, s.n * 4294967296 + s.b, SID) end
  if headChanged or s.at ~= s.at0 or s.reset or s.xChanged then
    local h = nil
    if s.n > 0 then h = head() end
    if h then redis.call('ZADD', AGE, h.t, SID) else redis.call('ZREM', AGE, SID) end
    local due = nil
    if h then due = h.t + TTL end
    if (not s.at) and s.x then
      local x = tonumber(s.x)
      if due == nil or x < due then due = x end
    end
    if due then redis.call('ZADD', DUE, due, SID) else redis.call('ZREM', DUE, SID) end
  end
end

-- Forget the session: every key and index entry; returns its retained messages.
local function forget(s, out)
  if s.n > 0 then
    local rest = redis.call('XRANGE', O, '-', '+', 'COUNT', s.n)
    for _, e in ipairs(rest) do put(out, entry(e)) end
  end
  redis.call('DEL', S, O, K, OI, OV, CI, CC, CR, CO)
  if s.at0 then redis.call('SREM', onNode(s.own), SID) end
  redis.call('ZREM', ALL, SID)
  redis.call('ZREM', DUE, SID)
  redis.call('ZREM', DEP, SID)
  redis.call('ZREM', AGE, SID)
  if s.n0 ~= 0 then redis.call('HINCRBY', ST, 'messages', -s.n0) end
  if s.b0 ~= 0 then redis.call('HINCRBY', ST, 'bytes', -s.b0) end
  if s.at0 then redis.call('HINCRBY', ST, 'attached', -1) end
end

-- The record as a reply: e, c, l, a, at, own, x, n, b, oldestAt (-1: none).
local function record(s, out)
  local h = nil
  if s.n > 0 then h = head() end
  out[#out + 1] = s.e
  out[#out + 1] = s.c
  out[#out + 1] = s.l
  out[#out + 1] = s.a
  out[#out + 1] = s.at and 1 or 0
  out[#out + 1] = s.own
  out[#out + 1] = s.x or ''
  out[#out + 1] = s.n
  out[#out + 1] = s.b
  out[#out + 1] = h and h.t or -1
  return out
end
`;

/** ARGV after the prelude's six: kh, owner. */
const CREATE = `
if redis.call('EXISTS', S) == 1 then return { 'x' } end
local kh, owner = ARGV[7], ARGV[8]
redis.call('HSET', S, 'kh', kh, 'e', NEW_EPOCH, 'g', GEN, 'c', NOW, 'l', 0, 'a', 0, 'at', '1',
  'own', owner, 'n', 0, 'b', 0, 'tn', 0, 'lc', 0)
redis.call('ZADD', ALL, 0, SID)
redis.call('ZADD', DEP, 0, SID)
redis.call('HINCRBY', ST, 'attached', 1)
redis.call('SADD', onNode(owner), SID)
return { 'o', NEW_EPOCH }
`;

/** Read-only: the record (no generation check: it changes nothing). */
const GET = `
local s = load()
if not s then return { 'u' } end
return record(s, { 'o', s.kh })
`;

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
const APPEND = `
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
const ACK = `
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
const READ = `
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
return out
`;

/** ARGV: keyHash, ack, owner. */
const RESUME = `
local s = load()
if not s then return { 'u' } end
local kh, ack, owner = ARGV[7], tonumber(ARGV[8]), ARGV[9]
-- Compare digests, not the secrets: no early exit on a matching prefix of the stored hash.
if redis.sha1hex(s.kh) ~= redis.sha1hex(kh) then return { 'k' } end
checkStream(s)
local epochChanged = s.ec
if epochChanged then
  -- The client's ack counts seqs of the lost stream: it means nothing in this one.
  ack = 0
elseif ack > s.l then
  return { 'b', s.l }
end
applyAck(s, ack)
s.ec = false
local out = { 'o', s.kh }
local expiredOut = {}
local expired = expirePrefix(s, expiredOut)
if s.at0 and s.own ~= owner then redis.call('SREM', onNode(s.own), SID) end
if s.own ~= owner or not s.at0 then redis.call('SADD', onNode(owner), SID) end
s.at = true
s.x = nil
s.xChanged = true
s.own = owner
s.ownNew = true
save(s, true)
record(s, out)
out[#out + 1] = s.a
out[#out + 1] = s.lc
out[#out + 1] = epochChanged and 1 or 0
out[#out + 1] = expired
for _, v in ipairs(expiredOut) do out[#out + 1] = v end
if s.n > 0 then
  local rows = redis.call('XRANGE', O, (s.a + 1) .. '-0', '+', 'COUNT', s.n)
  for _, e in ipairs(rows) do put(out, entry(e)) end
end
return out
`;

/** ARGV: sessionTtlMs, owner. Fenced by the owner token. */
const DETACH = `
local s = load()
if not s then return 0 end
local ttl, owner = tonumber(ARGV[7]), ARGV[8]
if s.own ~= owner then return 0 end
if s.at0 then redis.call('SREM', onNode(owner), SID) end
s.at = false
local ms = ttl
if ms < 0 then ms = 0 end
s.x = tostring(NOW + ms)
s.xChanged = true
save(s, true)
return 1
`;

const DELETE = `
local s = load()
if not s then return { 'u' } end
local out = { 'o' }
forget(s, out)
return out
`;

/**
 * The sweep of one due session: reap it if it is detached and its time has come, else
 * expire its outbox's due prefix. Removes what it returns in the same step, so concurrent
 * sweeps (several nodes) never hand anything back twice.
 */
const SWEEP = `
local s = load()
if not s then
  redis.call('ZREM', DUE, SID)
  return { 'n' }
end
if (not s.at) and s.x and tonumber(s.x) <= NOW then
  local out = { 'r' }
  forget(s, out)
  return out
end
local out = { 'e' }
local expired = expirePrefix(s, out)
save(s, true)
return out
`;

/** ARGV: id, owner, window, maxIds. */
const CLAIM = `
if redis.call('EXISTS', S) == 0 then return 'u' end
local id, owner, window, maxIds = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
forgetExpired(CI, CC, window, NOW)
local v = redis.call('HGET', CC, id)
if v then
  local t, state = string.match(v, '^(%d+)|(.*)$')
  if tonumber(t) + window > NOW then
    if state == 'd' then return 'duplicate' end
    return 'in_progress'
  end
  redis.call('ZREM', CI, id)
  redis.call('HDEL', CC, id)
end
if window > 0 and maxIds > 0 then
  local c = redis.call('HINCRBY', S, 'cq', 1)
  redis.call('ZADD', CI, c, id)
  redis.call('HSET', CC, id, NOW .. '|p:' .. owner)
  if redis.call('ZCARD', CI) > maxIds then
    local old = redis.call('ZPOPMIN', CI)
    redis.call('HDEL', CC, old[1])
  end
end
forgetResult(id)
return 'new'
`;

/** ARGV: id. */
const RELEASE = `
if redis.call('EXISTS', S) == 0 then return 0 end
local id = ARGV[7]
redis.call('ZREM', CI, id)
redis.call('HDEL', CC, id)
forgetResult(id)
return 1
`;

/** ARGV: id, hasResult (1/0), result, budget. */
const COMPLETE = `
if redis.call('EXISTS', S) == 0 then return 0 end
local id, has, result, budget = ARGV[7], ARGV[8] == '1', ARGV[9], tonumber(ARGV[10])
local v = redis.call('HGET', CC, id)
if not v then return 0 end
local t = string.match(v, '^(%d+)|')
redis.call('HSET', CC, id, t .. '|d')
if not has then return 1 end
forgetResult(id)
if #result > budget then return 1 end
redis.call('HSET', CR, id, result)
redis.call('ZADD', CO, redis.call('HINCRBY', S, 'ri', 1), id)
local used = redis.call('HINCRBY', S, 'rb', #result)
while used > budget do
  local oldest = redis.call('ZPOPMIN', CO)
  if #oldest == 0 then break end
  local r = redis.call('HGET', CR, oldest[1])
  redis.call('HDEL', CR, oldest[1])
  if r then used = redis.call('HINCRBY', S, 'rb', -#r) end
end
return 1
`;

/** ARGV: id, window. Read-only. */
const RESULT = `
local id, window = ARGV[7], tonumber(ARGV[8])
local v = redis.call('HGET', CC, id)
if not v then return false end
local t = tonumber(string.match(v, '^(%d+)'))
if t + window <= NOW then return false end
return redis.call('HGET', CR, id)
`;

/**
 * The generation check, on the global keys (KEYS[1] = the generation HASH). ARGV: this
 * Redis's run_id, durable (1/0). A new run_id means the data may be older than what nodes
 * last wrote (a restart from a snapshot, a failover): the generation goes up, unless the
 * operator declared the persistence durable. Returns the generation.
 */
export const GENERATION = `
local run, durable = ARGV[1], ARGV[2] == '1'
local known = redis.call('HGET', KEYS[1], 'run')
if known ~= run then
  redis.call('HSET', KEYS[1], 'run', run)
  if known == false or not durable then redis.call('HINCRBY', KEYS[1], 'gen', 1) end
end
return tonumber(redis.call('HGET', KEYS[1], 'gen'))
`;

const session = (body: string): string => PRELUDE + body;

/** The session scripts by name; each takes SESSION_KEYS + PARTITION_KEYS. */
export const SESSION_SCRIPTS = {
  rwsCreate: session(CREATE),
  rwsGet: session(GET),
  rwsAppend: session(APPEND),
  rwsAck: session(ACK),
  rwsRead: session(READ),
  rwsResume: session(RESUME),
  rwsDetach: session(DETACH),
  rwsDelete: session(DELETE),
  rwsSweep: session(SWEEP),
  rwsClaim: session(CLAIM),
  rwsRelease: session(RELEASE),
  rwsComplete: session(COMPLETE),
  rwsResult: session(RESULT),
} as const;

export type SessionScript = keyof typeof SESSION_SCRIPTS;
