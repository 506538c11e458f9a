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
 *
 * This file holds the KEYS, the generation check and the table of session scripts; their
 * Lua is split by topic: the shared prelude (redis-scripts-prelude.ts, then
 * redis-scripts-record.ts), the session lifecycle and sweep (redis-scripts-session.ts), the
 * outbox (redis-scripts-outbox.ts) and the client-message claims (redis-scripts-claims.ts).
 */
import { CLAIM, COMPLETE, RELEASE, RESULT } from './redis-scripts-claims.js';
import { ACK, APPEND, READ } from './redis-scripts-outbox.js';
import { PRELUDE_BASE } from './redis-scripts-prelude.js';
import { PRELUDE_RECORD } from './redis-scripts-record.js';
import { CREATE, DELETE, DETACH, GET, RESUME, SWEEP } from './redis-scripts-session.js';

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

/** What every session script starts with: the shared locals and helpers, then its body. */
const PRELUDE = PRELUDE_BASE + PRELUDE_RECORD;

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
