/**
 * The Redis implementation of the dead-letter port (src/outbox/dead-letter-store.ts): one
 * stream that every node sharing the key prefix writes to and reads, so that every node's
 * admin API sees every dead letter.
 *
 * It lives in src/outbox, not src/store/redis: it implements an outbox port, and src/store
 * may not import src/outbox (the dependency direction, docs/architecture.md).
 *
 * Keys (all under the dead-letter hash tag `{d}`, `RedisKeys.deadLetters`, so that one Lua
 * script may touch all of them, and Redis Cluster keeps them on one shard):
 * - `<prefix>:{d}:dlq` STREAM: one entry per dead letter, fields `sid`, `reason`, `at`,
 *   `seq` (absent when the message had none), `data`. The entry id (`"1700000000000-0"`) is
 *   the DeadLetterId. The add script keeps it exactly bounded by count (`max`) and by bytes
 *   (`maxBytes`, the sum of the entries' `data` lengths): before it adds, it deletes the
 *   oldest entries (XDEL) until the new one fits both bounds.
 * - `<prefix>:{d}:dlq:stats` HASH: `added:<reason>` (every add, evicted ones included),
 *   `evicted` (entries the add script deleted to make room, and entries too big to keep) and
 *   `bytes` (the sum of the entries' `data` lengths). Every script that adds or removes an
 *   entry moves `bytes` in the same script, so it is exact; it is set back to 0 whenever the
 *   stream is found empty (a stream deleted by hand, or entries trimmed by a node of an
 *   older version, which did not count bytes, cannot leave it wrong for good).
 * - `<prefix>:{d}:dlq:claim:<id>` STRING: a replay's claim, `SET NX PX <claimTtlMs>` holding
 *   this store's token; it expires by itself if the node dies mid-replay.
 *
 * Every operation is one round trip (a Lua script where it takes more than one command), and
 * every Redis call is bounded: reads carry a COUNT. A filtered `list` or a `purge` examines
 * at most SCAN_CHUNK (1000) entries per Redis call and pages forward in such calls; a filtered
 * `list` makes at most ceil(length / 1000) + 1 calls (it stops there even if entries added
 * meanwhile were not reached), a `purge` stops at the last entry present when it began. They
 * are not atomic as a whole, only each chunk is.
 *
 * Failures: a Redis reply error (a script bug, a wrong key type) rejects as it is; anything
 * else (no connection, a timeout) rejects with a `store_unavailable` RwsError carrying the
 * cause. A closed store rejects every call with `store_closed` (parseId still answers).
 * `add` issues its command at once, never throws and rejects on failure: its caller (the
 * outbox's DeadLetterWriter) counts and reports that.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isRwsError, RwsError } from '../errors.js';
import { RedisKeys } from '../store/redis/redis-keys.js';
import {
  DEAD_LETTER_REASONS,
  DEFAULT_DEAD_LETTER_MAX_BYTES,
  isDeadLetterReason,
  pageLimit,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterId,
  type DeadLetterQuery,
  type DeadLetterReason,
  type DeadLetterStats,
  type DeadLetterStore,
} from './dead-letter-store.js';

/** Entries a filtered list or a purge examines per Redis call. */
export const SCAN_CHUNK = 1000;

/** Default life of a replay claim: a node that dies mid-replay pins the entry this long. */
export const DEFAULT_CLAIM_TTL_MS = 60_000;

/** A Redis stream id: `<ms>-<seq>`, each a decimal of at most 20 digits without leading zeros. */
const STREAM_ID = /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/;
const U64_MAX = (1n << 64n) - 1n;
const MAX_ID = `${U64_MAX}-${U64_MAX}`;

export interface RedisDeadLetterStoreOptions {
  /** The connection to use (shared with the rest of the node): the store never closes it. */
  redis: Redis;
  /** The key prefix of this deployment (every node sharing it shares the dead letters). */
  prefix: string;
  /** The most entries kept (`dlqMax`); 0 keeps none (each add counts as evicted). */
  max: number;
  /**
   * The most bytes of data kept (`dlqMaxBytes`, default 64 MiB); an entry bigger than this by
   * itself is not kept (counted as evicted).
   */
  maxBytes?: number;
  /** How long a replay claim lives unless released (default 60 s). */
  claimTtlMs?: number;
}

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
const ADD = new LuaScript(`${BYTES}
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
const DELETE = new LuaScript(`${BYTES}
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
const LIST_CHUNK = new LuaScript(`${MATCHES}
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
const PURGE_CHUNK = new LuaScript(`${MATCHES}${BYTES}
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
const CLAIM = new LuaScript(`
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1], 'COUNT', 1) == 0 then return 0 end
if redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`);

/** KEYS: claim. ARGV: token. Releases the claim only if it is this store's. */
const UNCLAIM = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`);

/** KEYS: stream, stats. Returns {length, HGETALL of stats, bytes held}. */
const STATS = new LuaScript(`${BYTES}
return {redis.call('XLEN', KEYS[1]), redis.call('HGETALL', KEYS[2]), heldBytes()}
`);

type StreamEntry = [id: string, fields: string[]];

export class RedisDeadLetterStore implements DeadLetterStore {
  readonly kind = 'redis';
  /** The stream of dead letters. */
  readonly streamKey: string;
  /** The counters: `added:<reason>`, `evicted`, `bytes`. */
  readonly statsKey: string;
  private readonly claimBase: string;
  private readonly redis: Redis;
  private readonly max: number;
  private readonly maxBytes: number;
  private readonly claimTtlMs: number;
  /** Written into this store's claims: only they are released by its `unclaim`. */
  private readonly token = randomUUID();
  private closed = false;

  constructor(options: RedisDeadLetterStoreOptions) {
    const {
      redis,
      prefix,
      max,
      maxBytes = DEFAULT_DEAD_LETTER_MAX_BYTES,
      claimTtlMs = DEFAULT_CLAIM_TTL_MS,
    } = options;
    if (!Number.isSafeInteger(max) || max < 0)
      throw new RwsError(
        'bad_options',
        `the dead-letter bound must be an integer >= 0, got ${max}`,
      );
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new RwsError(
        'bad_options',
        `the dead-letter byte bound must be an integer >= 0, got ${maxBytes}`,
      );
    if (!Number.isSafeInteger(claimTtlMs) || claimTtlMs < 1)
      throw new RwsError(
        'bad_options',
        `the dead-letter claim TTL must be an integer >= 1 ms, got ${claimTtlMs}`,
      );
    this.redis = redis;
    this.max = max;
    this.maxBytes = maxBytes;
    this.claimTtlMs = claimTtlMs;
    const base = new RedisKeys(prefix, 1).deadLetters;
    this.streamKey = `${base}:dlq`;
    this.statsKey = `${base}:dlq:stats`;
    this.claimBase = `${base}:dlq:claim:`;
  }

  /** Stops answering (every call rejects with `store_closed`); the connection stays open. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Sends the add at once; the promise rejects on failure (never throws). */
  add(
    sid: string,
    reason: DeadLetterReason,
    data: string,
    at: number,
    seq?: number,
  ): Promise<void> {
    return this.call(async () => {
      await ADD.run(
        this.redis,
        [this.streamKey, this.statsKey],
        [this.max, sid, reason, data, at, seq === undefined ? '' : seq, this.maxBytes],
      );
    });
  }

  list(query: DeadLetterQuery = {}): Promise<DeadLetter[]> {
    return this.call(async () => {
      const limit = pageLimit(query.limit);
      let after = '';
      if (query.after !== undefined) {
        const id = this.key(query.after);
        if (id === undefined)
          throw new RwsError(
            'bad_cursor',
            `not a dead-letter id of the redis store: ${JSON.stringify(String(query.after).slice(0, 32))}`,
          );
        after = id;
        // Nothing can follow the largest id (and Redis refuses an interval starting after it).
        if (after === MAX_ID) return [];
      }
      const maxBytes = query.maxBytes;
      if (query.reason === undefined && query.sid === undefined && maxBytes === undefined) {
        const from = after === '' ? '-' : `(${after}`;
        const entries = (await this.redis.xrange(
          this.streamKey,
          from,
          '+',
          'COUNT',
          limit,
        )) as StreamEntry[];
        return entries.map(toDeadLetter);
      }
      const filter = filterArgs(query);
      const budget = maxBytes === undefined ? -1 : Math.max(0, Math.floor(maxBytes));
      const out: DeadLetter[] = [];
      let taken = 0;
      let rounds = 1;
      for (let round = 0; round < rounds; round++) {
        const [last, end, length, entries, bytes] = (await LIST_CHUNK.run(
          this.redis,
          [this.streamKey],
          [after, limit - out.length, ...filter, SCAN_CHUNK, budget, out.length, taken],
        )) as [string, number, number, StreamEntry[], number];
        if (round === 0) rounds = Math.ceil(length / SCAN_CHUNK) + 1;
        out.push(...entries.map(toDeadLetter));
        taken = bytes;
        if (out.length >= limit || end === 1 || last === after) break;
        if (budget >= 0 && out.length > 1 && taken > budget) break;
        after = last;
      }
      return out;
    });
  }

  get(id: DeadLetterId): Promise<DeadLetter | undefined> {
    return this.call(async () => {
      const key = this.key(id);
      if (key === undefined) return undefined;
      const [entry] = (await this.redis.xrange(
        this.streamKey,
        key,
        key,
        'COUNT',
        1,
      )) as StreamEntry[];
      return entry === undefined ? undefined : toDeadLetter(entry);
    });
  }

  delete(id: DeadLetterId): Promise<boolean> {
    return this.call(async () => {
      const key = this.key(id);
      if (key === undefined) return false;
      return (await DELETE.run(this.redis, [this.streamKey, this.statsKey], [key])) === 1;
    });
  }

  /**
   * Removes the matching entries present when it began, in chunks of SCAN_CHUNK examined
   * entries (one Redis call each); entries added meanwhile are left.
   */
  purge(filter: DeadLetterFilter = {}): Promise<number> {
    return this.call(async () => {
      const [newest] = (await this.redis.xrevrange(
        this.streamKey,
        '+',
        '-',
        'COUNT',
        1,
      )) as StreamEntry[];
      if (newest === undefined) return 0;
      const endId = newest[0];
      const args = filterArgs(filter);
      let after = '';
      let purged = 0;
      for (;;) {
        const [last, end, gone] = (await PURGE_CHUNK.run(
          this.redis,
          [this.streamKey, this.statsKey],
          [after, endId, ...args, SCAN_CHUNK],
        )) as [string, number, number];
        purged += gone;
        if (end === 1 || last === endId || last === after) return purged;
        after = last;
      }
    });
  }

  claim(id: DeadLetterId): Promise<boolean> {
    return this.call(async () => {
      const key = this.key(id);
      if (key === undefined) return false;
      const claimed = await CLAIM.run(
        this.redis,
        [this.streamKey, this.claimBase + key],
        [key, this.claimTtlMs, this.token],
      );
      return claimed === 1;
    });
  }

  unclaim(id: DeadLetterId): Promise<void> {
    return this.call(async () => {
      const key = this.key(id);
      if (key === undefined) return;
      await UNCLAIM.run(this.redis, [this.claimBase + key], [this.token]);
    });
  }

  stats(): Promise<DeadLetterStats> {
    return this.call(async () => {
      const [size, flat, bytes] = (await STATS.run(
        this.redis,
        [this.streamKey, this.statsKey],
        [],
      )) as [number, string[], number];
      const counts = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) counts.set(flat[i]!, Number(flat[i + 1]));
      const added = Object.fromEntries(
        DEAD_LETTER_REASONS.map((r) => [r, counts.get(`added:${r}`) ?? 0]),
      ) as Record<DeadLetterReason, number>;
      return { size, bytes, evicted: counts.get('evicted') ?? 0, added };
    });
  }

  /** A Redis stream id (`<ms>-<seq>`, each below 2^64, no leading zeros), as given. */
  parseId(text: string): string | undefined {
    const m = STREAM_ID.exec(text);
    if (m === null || BigInt(m[1]!) > U64_MAX || BigInt(m[2]!) > U64_MAX) return undefined;
    return text;
  }

  private key(id: DeadLetterId): string | undefined {
    return typeof id === 'string' ? this.parseId(id) : undefined;
  }

  /**
   * Runs `f` (an async function: it rejects, never throws) unless closed; a failure is
   * wrapped as described above.
   */
  private call<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(new RwsError('store_closed', 'the dead-letter store is closed'));
    return f().catch((error: unknown) => {
      throw unavailable(error);
    });
  }
}

/** ARGV of the scanning scripts for a filter: hasReason, reason, hasSid, sid. */
function filterArgs(filter: DeadLetterFilter): string[] {
  return [
    filter.reason === undefined ? '0' : '1',
    filter.reason ?? '',
    filter.sid === undefined ? '0' : '1',
    filter.sid ?? '',
  ];
}

function toDeadLetter([id, fields]: StreamEntry): DeadLetter {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  const reason = f.get('reason') ?? '';
  if (!isDeadLetterReason(reason))
    throw new RwsError('internal', `dead letter ${id} has an unknown reason: ${reason}`);
  const sid = f.get('sid') ?? '';
  const data = f.get('data') ?? '';
  const at = Number(f.get('at'));
  const seq = f.get('seq');
  return seq === undefined
    ? { id, sid, reason, data, at }
    : { id, sid, seq: Number(seq), reason, data, at };
}

/** Our own errors and Redis reply errors pass; anything else is Redis not answering. */
function unavailable(error: unknown): Error {
  if (isRwsError(error)) return error;
  if (error instanceof Error && error.name === 'ReplyError') return error;
  return new RwsError('store_unavailable', 'the dead-letter store (Redis) does not answer', {
    cause: error,
  });
}
