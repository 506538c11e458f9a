/**
 * The second half of the session scripts' prelude (after redis-scripts-prelude.ts): what
 * keeps a session's record and its partition's indexes true. Removing a message, resetting a
 * stale stream, expiring the outbox's prefix, applying an ack, writing the record back,
 * forgetting a session, and the record as a reply.
 */

export const PRELUDE_RECORD = `
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
  local user = redis.call('HGET', S, 'u')
  if user then redis.call('ZREM', userIndex(user), SID) end
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

-- The record as a reply: e, c, l, a, at, own, x, n, b, oldestAt (-1: none), user and
-- claims ('' for none; read here only, so that appends never load the claims).
local function record(s, out)
  local h = nil
  if s.n > 0 then h = head() end
  local who = redis.call('HMGET', S, 'u', 'cl')
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
  out[#out + 1] = who[1] or ''
  out[#out + 1] = who[2] or ''
  return out
end
`;
