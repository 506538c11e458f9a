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
 * The Lua scripts are in redis-dead-letter-scripts.ts, the decoding of entries and ids in
 * redis-dead-letter-entries.ts.
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
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RwsError } from '../errors.js';
import { RedisKeys } from '../store/redis/redis-keys.js';
import {
  DEAD_LETTER_REASONS,
  pageLimit,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterId,
  type DeadLetterQuery,
  type DeadLetterReason,
  type DeadLetterStats,
  type DeadLetterStore,
} from './dead-letter-store.js';
import {
  filterArgs,
  MAX_ID,
  parseStreamId,
  toDeadLetter,
  unavailable,
  type StreamEntry,
} from './redis-dead-letter-entries.js';
import { checkedOptions, type RedisDeadLetterStoreOptions } from './redis-dead-letter-options.js';
import {
  ADD,
  CLAIM,
  DELETE,
  LIST_CHUNK,
  PURGE_CHUNK,
  STATS,
  UNCLAIM,
} from './redis-dead-letter-scripts.js';

export {
  DEFAULT_CLAIM_TTL_MS,
  type RedisDeadLetterStoreOptions,
} from './redis-dead-letter-options.js';

/** Entries a filtered list or a purge examines per Redis call. */
export const SCAN_CHUNK = 1000;

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
    const { redis, prefix, max, maxBytes, claimTtlMs } = checkedOptions(options);
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
    return parseStreamId(text);
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
