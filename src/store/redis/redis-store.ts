/**
 * The Redis store: every session lives in Redis, so any node can serve any session
 * (docs/scaling.md). One Lua script per Store operation (src/store/redis/redis-scripts.ts),
 * atomic per session and one round trip; one stream per session whose entry id is the seq;
 * every key of a session and of its partition's indexes under one hash tag.
 *
 * Call order: every call issues its command synchronously, on one connection, so one
 * session's operations take effect in call order (the contract's ordering). Scripts are
 * loaded (SCRIPT LOAD) before the store reports ready and after every reconnect; a script
 * missing later (SCRIPT FLUSH) fails the call with a retryable `store_unavailable` rather
 * than being re-sent out of order.
 *
 * Failure handling: while Redis is away every call rejects at once with `store_unavailable`
 * (retryable); nothing is queued or re-sent (src/store/redis/redis-client.ts). When the
 * connection comes back the store checks Redis's identity (the generation, below) and is
 * ready again by itself.
 *
 * Generation: a Redis whose `run_id` changed (a restart, a failover) may hold data older than
 * what the nodes last wrote. The first node to see the new `run_id` bumps a generation kept
 * in Redis; every session record carries the generation of its last write, and a session
 * touched under a newer one starts its stream over under a new epoch, so that its next resume
 * says `epoch_changed` instead of silently reusing seqs (SignalR/SignalR#3091). An empty
 * Redis has no records: resumes get `unknown_session`. `durable: true` (AOF `always`, no
 * async failover) declares restarts lossless and skips the bump.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isRwsError, RwsError } from '../../errors.js';
import type { OutboxLimits } from '../limits.js';
import type {
  AckResult,
  AppendResult,
  ClaimResult,
  NewMessage,
  ReadResult,
  ResumeResult,
  SessionRecord,
  SessionSort,
  Store,
  StoredMessage,
  StoreStats,
  SweepResult,
} from '../store.js';
import { createRedisClient } from './redis-client.js';
import { RedisKeys } from './redis-keys.js';
import {
  GENERATION,
  PARTITION_KEYS,
  SESSION_KEYS,
  SESSION_SCRIPTS,
  type SessionScript,
} from './redis-scripts.js';

export interface RedisStoreOptions {
  limits: OutboxLimits;
  /** A connection to use (the caller closes it), or `url` to open one. */
  redis?: Redis;
  /** `redis://host:port/db`, when no `redis` is given. */
  url?: string;
  /** Key prefix (default `rws`): several deployments can share one Redis. */
  prefix?: string;
  /** Partitions (hash tags) the sessions are spread over (default 64, 1..4096). */
  partitions?: number;
  /** Restarts of this Redis lose nothing acknowledged (AOF `always`, no async failover). */
  durable?: boolean;
  /** Milliseconds before a command without a reply fails (default 2000). */
  commandTimeoutMs?: number;
  /**
   * Whether to refuse a Redis whose `maxmemory-policy` may evict keys (default true). An
   * evicted key loses half a session silently; with `noeviction` a full Redis fails writes,
   * which the store reports.
   */
  checkEviction?: boolean;
  /**
   * The `store` circuit breaker: every call asks it first and reports to it (an outage or a
   * timeout is a failure; any answer from Redis is a success). While it is open, calls fail
   * at once with `store_unavailable` and Redis gets no load.
   */
  breaker?: StoreBreaker;
}

/** A restart of Redis seen by the store: the generation before and after. */
export interface RedisRestart {
  generation: number;
  previous: number;
}

/** What the store needs of a circuit breaker (src/resilience/circuit-breaker.ts). */
export interface StoreBreaker {
  tryAcquire(): boolean;
  onSuccess(durationMs: number): void;
  onFailure(durationMs: number): void;
}

/** Partitions one round trip of `sessionIdPages` asks at once. */
const ID_PAGE_PARTITIONS = 8;

/** Due sessions a sweep takes from each partition at a time. */
const SWEEP_BATCH = 512;

type Reply = (string | number | null)[];

interface PendingAppend {
  message: NewMessage;
  now: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** Most appends one script call carries (its reply stays bounded too). */
const MAX_BATCH = 256;

const UNKNOWN = { status: 'unknown_session' } as const;

/** Policies that never evict keys (volatile-* evict only keys with a TTL: ours have none). */
const SAFE_POLICIES = new Set([
  'noeviction',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
]);

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly keys: RedisKeys;

  private readonly redis: Redis;
  private readonly ownsConnection: boolean;
  private readonly limits: OutboxLimits;
  private readonly durable: boolean;
  private readonly checkEviction: boolean;
  private readonly breaker: StoreBreaker | undefined;
  private readonly shas = new Map<string, string>();
  private generation = 0;
  /** Appends waiting for the end of the microtask queue, per session, in call order. */
  private readonly batches = new Map<string, PendingAppend[]>();
  private flushQueued = false;
  private readonly epochPrefix = randomBytes(6).toString('hex');
  private epochCounter = 0;
  private ready = false;
  private closed = false;
  private initializing: Promise<void> | undefined;
  /** Why the store cannot serve (an eviction policy that would lose data), if it cannot. */
  private fatal: RwsError | undefined;
  private readonly restartListeners: ((e: RedisRestart) => void)[] = [];
  /** The `run_id` of the Redis this store last initialized against. */
  private runId: string | undefined;

  constructor(options: RedisStoreOptions) {
    this.limits = { ...options.limits };
    this.durable = options.durable ?? false;
    this.checkEviction = options.checkEviction ?? true;
    this.breaker = options.breaker;
    const partitions = options.partitions ?? 64;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096)
      throw new RwsError('bad_options', `partitions is an integer in 1..4096, got ${partitions}`);
    this.keys = new RedisKeys(options.prefix ?? 'rws', partitions);
    if (options.redis !== undefined) {
      this.redis = options.redis;
      this.ownsConnection = false;
    } else {
      if (options.url === undefined)
        throw new RwsError('bad_options', 'a Redis store needs `redis` or `url`');
      this.redis = createRedisClient(options.url, {
        commandTimeoutMs: options.commandTimeoutMs ?? 2000,
        connectionName: `${this.keys.prefix}:store`,
        autoPipelining: true,
      });
      this.ownsConnection = true;
    }
    this.redis.on('ready', () => void this.initialize());
    this.redis.on('close', () => {
      this.ready = false;
    });
    // Errors are reported by the calls that fail; an unhandled 'error' event would throw.
    this.redis.on('error', () => {});
    if (this.redis.status === 'ready') void this.initialize();
  }

  /** The generation this store last read from Redis (0 before the first connection). */
  get currentGeneration(): number {
    return this.generation;
  }

  /** Whether the store can serve calls now (connected, scripts loaded, generation known). */
  get isReady(): boolean {
    return this.ready;
  }

  /**
   * Called when the store reconnected to another Redis process than before (a restart, a
   * failover: a new `run_id`), whether or not anything survived: the server closes its
   * connections so that clients resume and learn what survived. An empty Redis restarts the
   * generation count at 1, so the `run_id` is what tells, not the generation.
   */
  onRestart(listener: (e: RedisRestart) => void): void {
    this.restartListeners.push(listener);
  }

  /**
   * Resolves once the store is ready; rejects with the reason it cannot be (an eviction
   * policy, or `store_unavailable` after `timeoutMs`).
   */
  async waitReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.assertOpen();
      if (this.fatal !== undefined) throw this.fatal;
      if (this.ready) return;
      if (this.initializing !== undefined) await this.initializing.catch(() => undefined);
      if (this.ready) return;
      this.assertUsable();
      if (Date.now() >= deadline)
        throw new RwsError('store_unavailable', `Redis is not ready (${this.redis.status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private initialize(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.checkEviction) {
        const policy = await this.configGet('maxmemory-policy');
        if (policy !== undefined && !SAFE_POLICIES.has(policy)) {
          this.fatal = new RwsError(
            'store_unavailable',
            `Redis maxmemory-policy is ${policy}: it may evict session keys and lose messages silently. Set it to noeviction (CONFIG SET maxmemory-policy noeviction), or pass checkEviction: false if you accept that.`,
          );
          return;
        }
      }
      for (const [name, lua] of Object.entries(SESSION_SCRIPTS)) {
        const sha = (await this.redis.script('LOAD', lua)) as string;
        this.shas.set(name, sha);
      }
      this.shas.set('generation', (await this.redis.script('LOAD', GENERATION)) as string);
      const info = await this.redis.info('server');
      const runId = /run_id:(\w+)/.exec(info)?.[1] ?? 'unknown';
      const generation = Number(
        await this.redis.evalsha(
          this.shas.get('generation')!,
          1,
          `${this.keys.global}:gen`,
          runId,
          this.durable ? '1' : '0',
        ),
      );
      const previous = this.generation;
      const restarted = this.runId !== undefined && this.runId !== runId;
      this.generation = generation;
      this.runId = runId;
      this.ready = true;
      if (restarted) for (const l of this.restartListeners) l({ generation, previous });
    };
    const p = run().catch(() => {
      // Not ready: the next 'ready' event (after a reconnect) tries again, and so does a
      // timer while the connection stays up (a timed-out SCRIPT LOAD brings no new 'ready').
      if (this.closed || this.redis.status !== 'ready') return;
      setTimeout(() => {
        if (!this.closed && !this.ready && this.redis.status === 'ready') void this.initialize();
      }, 250).unref();
    });
    this.initializing = p;
    return p;
  }

  private async configGet(name: string): Promise<string | undefined> {
    try {
      const r = await this.redis.config('GET', name);
      return r[1];
    } catch {
      // CONFIG is barred on some managed Redis: nothing to check there.
      return undefined;
    }
  }

  // --- Store -------------------------------------------------------------------------------

  async createSession(init: {
    sid: string;
    keyHash: string;
    now: number;
    owner: string;
  }): Promise<SessionRecord> {
    const r = await this.run('rwsCreate', init.sid, init.now, [init.keyHash, init.owner]);
    if (r[0] === 'x')
      throw new RwsError('session_exists', 'a session with this sid already exists');
    return {
      sid: init.sid,
      keyHash: init.keyHash,
      epoch: String(r[1]),
      createdAt: init.now,
      last: 0,
      acked: 0,
      attached: true,
      owner: init.owner,
      depth: 0,
      bytes: 0,
    };
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const r = await this.run('rwsGet', sid, 0, []);
    if (r[0] === 'u') return undefined;
    return toRecord(sid, String(r[1]), r, 2);
  }

  async resume(
    sid: string,
    keyHash: string,
    ack: number,
    now: number,
    owner: string,
  ): Promise<ResumeResult> {
    const r = await this.run('rwsResume', sid, now, [keyHash, ack, owner]);
    switch (r[0]) {
      case 'u':
        return UNKNOWN;
      case 'k':
        return { status: 'bad_key' };
      case 'b':
        return { status: 'bad_ack', last: Number(r[1]) };
    }
    const session = toRecord(sid, String(r[1]), r, 2);
    let i = 2 + RECORD_FIELDS;
    const acked = Number(r[i++]);
    const missing = Number(r[i++]);
    const epochChanged = Number(r[i++]) === 1;
    const expiredCount = Number(r[i++]);
    const expired = this.messages(r, i, expiredCount);
    i += expiredCount * 6;
    const messages = this.messages(r, i, (r.length - i) / 6);
    return { status: 'ok', session, acked, missing, messages, expired, epochChanged };
  }

  async detach(sid: string, now: number, sessionTtlMs: number, owner: string): Promise<boolean> {
    const r = await this.runRaw('rwsDetach', sid, now, [sessionTtlMs, owner]);
    return Number(r) === 1;
  }

  async deleteSession(sid: string): Promise<StoredMessage[] | undefined> {
    const r = await this.run('rwsDelete', sid, 0, []);
    if (r[0] === 'u') return undefined;
    return this.messages(r, 1, (r.length - 1) / 6);
  }

  async *sessionIdPages(pageSize: number): AsyncGenerator<string[]> {
    this.assertOpen();
    if (!Number.isInteger(pageSize) || pageSize < 1)
      throw new RwsError('bad_page_size', `a page size is an integer >= 1, got ${pageSize}`);
    const partitions = this.keys.partitions;
    // A cursor over the partitions in order, and within one an exclusive lexicographic
    // cursor over its sids ('-': from its start), which a deletion never shifts. Each page
    // asks a batch of partitions at once (one round trip) for the ids it still needs.
    let part = 0;
    let cursor = '-';
    for (;;) {
      const page: string[] = [];
      while (page.length < pageSize && part < partitions) {
        this.assertOpen();
        this.assertReady();
        const want = pageSize - page.length;
        const pipe: Promise<unknown>[] = [];
        const first = part;
        const end = Math.min(partitions, part + ID_PAGE_PARTITIONS);
        for (let p = first; p < end; p++)
          pipe.push(
            this.redis.zrangebylex(
              `${this.keys.part(p)}:all`,
              p === first ? cursor : '-',
              '+',
              'LIMIT',
              0,
              want,
            ),
          );
        const replies = await this.exec(pipe);
        for (let p = first; p < end; p++) {
          const room = pageSize - page.length;
          if (room === 0) break;
          const ids = replies[p - first] as string[];
          const take = ids.length > room ? ids.slice(0, room) : ids;
          page.push(...take);
          if (take.length < ids.length || ids.length === want) {
            // The page is full and this partition may hold more: continue after the last.
            part = p;
            cursor = `(${take[take.length - 1]!}`;
            break;
          }
          part = p + 1;
          cursor = '-';
        }
      }
      if (page.length > 0) yield page;
      if (page.length < pageSize) return;
    }
  }

  /**
   * Appends wait in a per-session batch until the end of the current microtask queue, then
   * go to Redis as one script call per session (see APPEND in redis-scripts.ts). Any other
   * call on the session sends its batch first, so calls still take effect in call order.
   */
  append(sid: string, message: NewMessage, now: number): Promise<AppendResult> {
    try {
      this.assertOpen();
      this.assertReady();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    let batch = this.batches.get(sid);
    if (batch === undefined) {
      batch = [];
      this.batches.set(sid, batch);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flushBatches);
      }
    }
    const b = batch;
    return new Promise<AppendResult>((resolve, reject) => {
      b.push({ message, now, resolve, reject });
      if (b.length >= MAX_BATCH) this.sendBatch(sid);
    });
  }

  private readonly flushBatches = (): void => {
    this.flushQueued = false;
    for (const sid of [...this.batches.keys()]) this.sendBatch(sid);
  };

  /** Send `sid`'s waiting appends now (before any other call on the session). */
  private sendBatch(sid: string): void {
    const batch = this.batches.get(sid);
    if (batch === undefined) return;
    this.batches.delete(sid);
    const l = this.limits;
    const args: (string | number)[] = [
      l.overflow,
      l.maxBytes,
      l.dedupWindowMs,
      l.dedupMaxIds,
      batch.length,
    ];
    const now = Math.floor(batch[0]!.now);
    if (
      batch.every(
        (a) =>
          Math.floor(a.now) === now && a.message.id === undefined && a.message.key === undefined,
      )
    ) {
      args.push('p', now);
      for (const a of batch) args.push(a.message.data);
    } else {
      args.push('f');
      for (const { message, now } of batch)
        args.push(Math.floor(now), message.data, message.id ?? '', message.key ?? '');
    }
    this.runRaw('rwsAppend', sid, batch[0]!.now, args, false).then(
      (reply) => this.settleBatch(batch, reply as Reply),
      (error: unknown) => {
        for (const a of batch) a.reject(error);
      },
    );
  }

  private settleBatch(batch: PendingAppend[], r: Reply): void {
    if (r[0] === 'S') {
      // Every message stored in order, nothing dropped or superseded.
      const first = Number(r[1]) - batch.length + 1;
      for (const [k, a] of batch.entries())
        a.resolve({ status: 'stored', seq: first + k, dropped: [] });
      return;
    }
    let i = 0;
    for (const a of batch) {
      switch (r[i++]) {
        case 'u':
          a.resolve(UNKNOWN);
          break;
        case 'd':
          a.resolve({ status: 'duplicate', seq: Number(r[i++]) });
          break;
        case 'f':
          a.resolve({ status: 'full' });
          break;
        default: {
          const seq = Number(r[i++]);
          const droppedCount = Number(r[i++]);
          const dropped = this.messages(r, i, droppedCount);
          i += droppedCount * 6;
          if (Number(r[i++]) === 1) {
            const [superseded] = this.messages(r, i, 1);
            i += 6;
            a.resolve({ status: 'stored', seq, dropped, superseded: superseded! });
          } else a.resolve({ status: 'stored', seq, dropped });
        }
      }
    }
  }

  async ack(sid: string, seq: number, now: number): Promise<AckResult> {
    const r = await this.run('rwsAck', sid, now, [seq]);
    switch (r[0]) {
      case 'u':
        return UNKNOWN;
      case 'b':
        return { status: 'bad_ack', last: Number(r[1]) };
    }
    const newest = Number(r[3]);
    const result: AckResult = { status: 'ok', acked: Number(r[1]), removed: Number(r[2]) };
    if (newest >= 0) result.newestEnqueuedAt = newest;
    return result;
  }

  async read(sid: string, afterSeq: number, limit: number, now: number): Promise<ReadResult> {
    const r = await this.run('rwsRead', sid, now, [afterSeq, Math.max(0, Math.floor(limit))]);
    if (r[0] === 'u') return UNKNOWN;
    const expiredCount = Number(r[2]);
    const expired = this.messages(r, 3, expiredCount);
    const start = 3 + expiredCount * 6;
    return {
      status: 'ok',
      messages: this.messages(r, start, (r.length - start) / 6),
      expired,
      last: Number(r[1]),
    };
  }

  async claimClientMessage(
    sid: string,
    id: string,
    now: number,
    owner: string,
  ): Promise<ClaimResult> {
    const l = this.limits;
    const r = await this.runRaw('rwsClaim', sid, now, [id, owner, l.dedupWindowMs, l.dedupMaxIds]);
    return r === 'u' ? 'unknown_session' : (r as ClaimResult);
  }

  async releaseClientMessage(sid: string, id: string): Promise<void> {
    await this.runRaw('rwsRelease', sid, 0, [id]);
  }

  async completeClientMessage(sid: string, id: string, result?: string): Promise<void> {
    await this.runRaw('rwsComplete', sid, 0, [
      id,
      result === undefined ? '0' : '1',
      result ?? '',
      this.limits.dedupResultBudget,
    ]);
  }

  async clientMessageResult(sid: string, id: string, now: number): Promise<string | undefined> {
    const r = await this.runRaw('rwsResult', sid, now, [id, this.limits.dedupWindowMs]);
    return typeof r === 'string' ? r : undefined;
  }

  async sweep(now: number): Promise<SweepResult> {
    this.assertOpen();
    this.assertReady();
    this.flushBatches();
    const result: SweepResult = { expired: [], reaped: [] };
    const pipe: Promise<unknown>[] = [];
    for (let p = 0; p < this.keys.partitions; p++)
      pipe.push(
        this.redis.zrangebyscore(`${this.keys.part(p)}:due`, '-inf', now, 'LIMIT', 0, SWEEP_BATCH),
      );
    const due = (await this.exec(pipe)).flatMap((ids) => ids as string[]);
    if (due.length === 0) return result;
    // Settled one by one: a session whose sweep failed removed nothing, but one that ran
    // removed what it returns, which must be handed back even when another call failed.
    const settled = await Promise.allSettled(due.map((sid) => this.run('rwsSweep', sid, now, [])));
    const failed = settled.find((x) => x.status === 'rejected');
    if (failed !== undefined && settled.every((x) => x.status === 'rejected')) throw failed.reason;
    for (const [i, x] of settled.entries()) {
      if (x.status === 'rejected') continue;
      const r = x.value;
      const sid = due[i]!;
      if (r[0] === 'r')
        result.reaped.push({ sid, messages: this.messages(r, 1, (r.length - 1) / 6) });
      else if (r[0] === 'e' && r.length > 1)
        result.expired.push({ sid, messages: this.messages(r, 1, (r.length - 1) / 6) });
    }
    return result;
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    this.assertReady();
    this.flushBatches();
    const pipe: Promise<unknown>[] = [];
    for (let p = 0; p < this.keys.partitions; p++) {
      const base = this.keys.part(p);
      pipe.push(this.redis.zcard(`${base}:all`));
      pipe.push(this.redis.hmget(`${base}:st`, 'attached', 'messages', 'bytes'));
      pipe.push(this.redis.zrange(`${base}:age`, 0, 0, 'WITHSCORES'));
    }
    const replies = await this.exec(pipe);
    const stats: StoreStats = { sessions: 0, attached: 0, detached: 0, messages: 0, bytes: 0 };
    let oldest = Infinity;
    for (let i = 0; i < replies.length; i += 3) {
      stats.sessions += Number(replies[i]);
      const [attached, messages, bytes] = replies[i + 1] as (string | null)[];
      stats.attached += Number(attached ?? 0);
      stats.messages += Number(messages ?? 0);
      stats.bytes += Number(bytes ?? 0);
      const age = replies[i + 2] as string[];
      if (age.length === 2) oldest = Math.min(oldest, Number(age[1]));
    }
    stats.detached = stats.sessions - stats.attached;
    if (oldest !== Infinity && stats.messages > 0) stats.oldestAt = oldest;
    return stats;
  }

  async topSessions(limit: number, sort: SessionSort): Promise<SessionRecord[]> {
    this.assertOpen();
    this.assertReady();
    this.flushBatches();
    if (limit <= 0) return [];
    const pipe: Promise<unknown>[] = [];
    for (let p = 0; p < this.keys.partitions; p++) {
      const base = this.keys.part(p);
      if (sort === 'depth')
        pipe.push(this.redis.zrevrange(`${base}:dep`, 0, limit - 1, 'WITHSCORES'));
      else pipe.push(this.redis.zrange(`${base}:age`, 0, limit - 1, 'WITHSCORES'));
    }
    const ranked: { sid: string; score: number }[] = [];
    for (const reply of await this.exec(pipe)) {
      const flat = reply as string[];
      for (let i = 0; i < flat.length; i += 2)
        ranked.push({ sid: flat[i]!, score: Number(flat[i + 1]) });
    }
    ranked.sort((a, b) => (sort === 'depth' ? b.score - a.score : a.score - b.score));
    const winners = ranked.slice(0, limit);
    const records = await Promise.all(winners.map((w) => this.getSession(w.sid)));
    return records.filter((r): r is SessionRecord => r !== undefined);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    if (this.fatal !== undefined) throw this.fatal;
    this.assertReady();
    await this.guarded(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushBatches();
    this.closed = true;
    this.ready = false;
    if (this.ownsConnection) {
      await this.redis.quit().catch(() => this.redis.disconnect());
    }
  }

  // --- plumbing ----------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new RwsError('store_closed', 'the store is closed');
  }

  /** Throws the reason this Redis cannot be used (an eviction policy), if there is one. */
  private assertUsable(): void {
    if (this.fatal !== undefined) throw this.fatal;
  }

  private assertReady(): void {
    this.assertUsable();
    if (!this.ready)
      throw new RwsError('store_unavailable', `Redis is not reachable (${this.redis.status})`);
  }

  /** A fresh epoch for a script that may need one: unique per store and call, no syscall. */
  private nextEpoch(): string {
    return `${this.epochPrefix}${(this.epochCounter++).toString(36)}`;
  }

  /** KEYS of a session script: the session's keys, then its partition's indexes. */
  private sessionKeys(sid: string): string[] {
    const base = this.keys.partOf(sid);
    const keys: string[] = [];
    for (const k of SESSION_KEYS) keys.push(`${base}:${k}:${sid}`);
    for (const k of PARTITION_KEYS) keys.push(`${base}:${k}`);
    return keys;
  }

  /**
   * Run a session script. The command is handed to the connection before this returns (no
   * await before it), which keeps one session's calls in call order.
   */
  private runRaw(
    name: SessionScript,
    sid: string,
    now: number,
    args: (string | number)[],
    flush = true,
  ): Promise<unknown> {
    try {
      this.assertOpen();
      this.assertReady();
      if (flush && this.batches.size > 0) this.sendBatch(sid);
      const keys = this.sessionKeys(sid);
      const l = this.limits;
      return this.guarded(() =>
        this.redis.evalsha(
          this.shas.get(name)!,
          keys.length,
          ...keys,
          sid,
          // Whole milliseconds: the scripts parse times as integers ("<t>:<seq>", "<t>|d"),
          // and Lua's tostring of a fraction failed the script, half-applying a batch.
          Math.floor(now),
          this.generation,
          this.nextEpoch(),
          l.messageTtlMs,
          l.maxMessages,
          ...args,
        ),
      );
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async run(
    name: SessionScript,
    sid: string,
    now: number,
    args: (string | number)[],
  ): Promise<Reply> {
    return (await this.runRaw(name, sid, now, args)) as Reply;
  }

  /**
   * `call` behind the breaker: refused at once while it is open; an outage (the retryable
   * `store_unavailable`) counts as a failure, any answer as a success.
   */
  private guarded<T>(call: () => Promise<T>): Promise<T> {
    const b = this.breaker;
    if (b === undefined) return this.guard(call());
    if (!b.tryAcquire())
      return Promise.reject(
        new RwsError('store_unavailable', 'the store circuit breaker is open (Redis failing)'),
      );
    const started = performance.now();
    return this.guard(call()).then(
      (value) => {
        b.onSuccess(performance.now() - started);
        return value;
      },
      (error: unknown) => {
        const elapsed = performance.now() - started;
        if (isRwsError(error) && error.code === 'store_unavailable') b.onFailure(elapsed);
        else b.onSuccess(elapsed);
        throw error;
      },
    );
  }

  /** Connection failures become the retryable `store_unavailable`; a closed store says so. */
  private async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (error) {
      if (this.closed) throw new RwsError('store_closed', 'the store is closed');
      const message = error instanceof Error ? error.message : String(error);
      if (message.startsWith('NOSCRIPT')) {
        // Scripts were flushed under us: load them again; this call is not re-sent.
        this.ready = false;
        void this.initialize();
      }
      if (isRedisReplyError(error) && !message.startsWith('NOSCRIPT') && !isOutage(message))
        throw error;
      throw new RwsError('store_unavailable', `Redis: ${message}`);
    }
  }

  /**
   * Replies of commands issued one by one on the connection, not as a `pipeline()`: an
   * explicit pipeline is written at once, ahead of the auto-pipelined commands of calls
   * made before it, which broke call order (a `stats` right after an `append` missed it).
   */
  private async exec(pipe: Promise<unknown>[]): Promise<unknown[]> {
    return this.guard(Promise.all(pipe));
  }

  private messages(r: Reply, start: number, count: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    const ttl = this.limits.messageTtlMs;
    for (let i = 0; i < count; i++) {
      const j = start + i * 6;
      const enqueuedAt = Number(r[j + 3]);
      const m: StoredMessage = {
        seq: Number(r[j]),
        data: String(r[j + 1]),
        bytes: Number(r[j + 2]),
        enqueuedAt,
        expiresAt: enqueuedAt + ttl,
      };
      const id = r[j + 4];
      const key = r[j + 5];
      if (typeof id === 'string' && id !== '') m.id = id;
      if (typeof key === 'string' && key !== '') m.key = key;
      out.push(m);
    }
    return out;
  }
}

/** Fields of a record in a reply (see `record` in the scripts). */
const RECORD_FIELDS = 10;

function toRecord(sid: string, keyHash: string, r: Reply, i: number): SessionRecord {
  const attached = Number(r[i + 4]) === 1;
  const record: SessionRecord = {
    sid,
    keyHash,
    epoch: String(r[i]),
    createdAt: Number(r[i + 1]),
    last: Number(r[i + 2]),
    acked: Number(r[i + 3]),
    attached,
    depth: Number(r[i + 7]),
    bytes: Number(r[i + 8]),
  };
  if (attached) record.owner = String(r[i + 5]);
  const x = r[i + 6];
  if (!attached && x !== '' && x !== null) record.expiresAt = Number(x);
  const oldest = Number(r[i + 9]);
  if (oldest >= 0) record.oldestAt = oldest;
  return record;
}

function isRedisReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/** Reply errors that mean "Redis cannot serve now", not "this call is wrong". */
function isOutage(message: string): boolean {
  return /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN)/.test(message);
}

/** SHA-1 of a script, as EVALSHA names it (exported for tests). */
export const scriptSha = (lua: string): string => createHash('sha1').update(lua).digest('hex');
