/**
 * The client-message claim scripts of the Redis store (the inbound dedup window and the kept
 * handler results): claim, release, complete, result. Bodies only:
 * src/store/redis/redis-scripts.ts puts the prelude (redis-scripts-prelude.ts,
 * redis-scripts-record.ts) before each.
 */

/** ARGV: id, owner, window, maxIds. */
export const CLAIM = `
if redis.call('EXISTS', S) == 0 then return 'u' end
local id, owner, window, maxIds = ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10])
-- A result is kept only while its id is: it could never be served after (RESULT checks the id).
forgetExpired(CI, CC, window, NOW, forgetResult)
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
    forgetResult(old[1])
  end
end
forgetResult(id)
return 'new'
`;

/** ARGV: id. */
export const RELEASE = `
if redis.call('EXISTS', S) == 0 then return 0 end
local id = ARGV[7]
redis.call('ZREM', CI, id)
redis.call('HDEL', CC, id)
forgetResult(id)
return 1
`;

/** ARGV: id, hasResult (1/0), result, budget. */
export const COMPLETE = `
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
export const RESULT = `
local id, window = ARGV[7], tonumber(ARGV[8])
local v = redis.call('HGET', CC, id)
if not v then return false end
local t = tonumber(string.match(v, '^(%d+)'))
if t + window <= NOW then return false end
return redis.call('HGET', CR, id)
`;
