/**
 * The session scripts of the Redis store's lifecycle: create, get, resume, detach, delete,
 * and the sweep of a due session (reap or expire). Bodies only: src/store/redis/redis-scripts.ts
 * puts the prelude (redis-scripts-prelude.ts, redis-scripts-record.ts) before each.
 */

/** ARGV after the prelude's six: kh, owner, user ('' for none), claims ('' for none). */
export const CREATE = `
if redis.call('EXISTS', S) == 1 then return { 'x' } end
local kh, owner, user, claims = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
redis.call('HSET', S, 'kh', kh, 'e', NEW_EPOCH, 'g', GEN, 'c', NOW, 'l', 0, 'a', 0, 'at', '1',
  'own', owner, 'n', 0, 'b', 0, 'tn', 0, 'lc', 0)
if user ~= '' then
  redis.call('HSET', S, 'u', user)
  if claims ~= '' then redis.call('HSET', S, 'cl', claims) end
  redis.call('ZADD', userIndex(user), NOW, SID)
end
redis.call('ZADD', ALL, 0, SID)
redis.call('ZADD', DEP, 0, SID)
redis.call('HINCRBY', ST, 'attached', 1)
redis.call('SADD', onNode(owner), SID)
return { 'o', NEW_EPOCH }
`;

/** Read-only: the record (no generation check: it changes nothing). */
export const GET = `
local s = load()
if not s then return { 'u' } end
return record(s, { 'o', s.kh })
`;

/** ARGV: keyHash, ack, owner, user ('' for none). */
export const RESUME = `
local s = load()
if not s then return { 'u' } end
local kh, ack, owner, user = ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10]
-- Compare digests, not the secrets: no early exit on a matching prefix of the stored hash.
if redis.sha1hex(s.kh) ~= redis.sha1hex(kh) then return { 'k' } end
-- After the key: only a holder of the key learns that the session is another user's.
if (redis.call('HGET', S, 'u') or '') ~= user then return { 'w' } end
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
export const DETACH = `
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

export const DELETE = `
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
export const SWEEP = `
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
