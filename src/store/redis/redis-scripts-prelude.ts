/**
 * The first half of the prelude every session script starts with (redis-scripts.ts puts it,
 * then redis-scripts-record.ts, before each script's body): the KEYS and ARGV names, stream
 * entries as message tuples, loss runs, loading the session HASH, and the helpers of the
 * dedup windows and kept results.
 */

export const PRELUDE_BASE = `
local S, O, K, OI, OV, CI, CC, CR, CO = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local ALL, DUE, ST, DEP, AGE = KEYS[10], KEYS[11], KEYS[12], KEYS[13], KEYS[14]
-- The partition's key base: the set of sessions attached to a node is BASE:on:<node>, in
-- the same slot as the rest (its name depends on the stored owner, so it is not in KEYS).
local BASE = string.sub(ALL, 1, #ALL - 4)
local function onNode(owner) return BASE .. ':on:' .. owner end
-- A user's sessions in this partition (ZSET sid -> createdAt), in the partition's slot too.
local function userIndex(user) return BASE .. ':u:' .. user end
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
-- whose time + window has passed, oldest first: O(expired). \`onForget(id)\`, if given, runs
-- for each (the inbound window forgets the kept result with its id).
local function forgetExpired(Z, H, window, now, onForget)
  while true do
    local h = redis.call('ZRANGE', Z, 0, 0)
    if #h == 0 then return end
    local v = redis.call('HGET', H, h[1])
    local t = v and tonumber(string.match(v, '^(%d+)')) or 0
    if t + window > now then return end
    redis.call('ZREM', Z, h[1])
    redis.call('HDEL', H, h[1])
    if onForget then onForget(h[1]) end
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
`;
