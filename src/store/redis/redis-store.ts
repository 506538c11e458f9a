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
 * Parts: the connection, its readiness, failure handling and Redis's generation (restarts
 * and failovers) are in redis-store-connection.ts; the append batches in
 * redis-append-batch.ts; the reads across partitions (id pages, stats, top sessions, due
 * sessions) in redis-listing.ts; the decoding of replies in redis-replies.ts.
 */
import { createHash } from 'node:crypto';
import { RwsError } from '../../errors.js';
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
import { AppendBatches } from './redis-append-batch.js';
import { RedisKeys } from './redis-keys.js';
import {
  dueSessions,
  partitionStats,
  sessionIdPages,
  topSessionIds,
  userSessionIds,
} from './redis-listing.js';
import {
  readMessages,
  readReply,
  resumeReply,
  toRecord,
  UNKNOWN,
  type Reply,
} from './redis-replies.js';
import { ScriptRunner } from './redis-script-runner.js';
import { StoreConnection } from './redis-store-connection.js';
import type { RedisRestart, RedisStoreOptions } from './redis-store-options.js';

export type { RedisRestart, RedisStoreOptions, StoreBreaker } from './redis-store-options.js';

export class RedisStore implements Store {
  readonly kind = 'redis';
  readonly keys: RedisKeys;

  private readonly conn: StoreConnection;
  private readonly limits: OutboxLimits;
  private readonly appends: AppendBatches;
  private readonly scripts: ScriptRunner;

  constructor(options: RedisStoreOptions) {
    this.limits = { ...options.limits };
    const partitions = options.partitions ?? 64;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 4096)
      throw new RwsError('bad_options', `partitions is an integer in 1..4096, got ${partitions}`);
    this.keys = new RedisKeys(options.prefix ?? 'rws', partitions);
    this.conn = new StoreConnection({
      redis: options.redis,
      url: options.url,
      commandTimeoutMs: options.commandTimeoutMs ?? 2000,
      connectionName: `${this.keys.prefix}:store`,
      generationKey: `${this.keys.global}:gen`,
      durable: options.durable ?? false,
      checkEviction: options.checkEviction ?? true,
      breaker: options.breaker,
    });
    this.scripts = new ScriptRunner(this.conn, this.keys, this.limits, (sid) => {
      if (this.appends.waiting) this.appends.send(sid);
    });
    this.appends = new AppendBatches(this.limits, (sid, now, args) =>
      this.scripts.runRaw('rwsAppend', sid, now, args, false),
    );
  }

  /** The generation this store last read from Redis (0 before the first connection). */
  get currentGeneration(): number {
    return this.conn.currentGeneration;
  }

  /** Whether the store can serve calls now (connected, scripts loaded, generation known). */
  get isReady(): boolean {
    return this.conn.isReady;
  }

  /**
   * Called when the store reconnected to another Redis process than before (a restart, a
   * failover: a new `run_id`), whether or not anything survived: the server closes its
   * connections so that clients resume and learn what survived. An empty Redis restarts the
   * generation count at 1, so the `run_id` is what tells, not the generation.
   */
  onRestart(listener: (e: RedisRestart) => void): void {
    this.conn.onRestart(listener);
  }

  /**
   * Resolves once the store is ready; rejects with the reason it cannot be (an eviction
   * policy, or `store_unavailable` after `timeoutMs`).
   */
  waitReady(timeoutMs = 10_000): Promise<void> {
    return this.conn.waitReady(timeoutMs);
  }

  // --- Store -------------------------------------------------------------------------------

  async createSession(init: {
    sid: string;
    keyHash: string;
    now: number;
    owner: string;
    user?: string;
    claims?: string;
  }): Promise<SessionRecord> {
    const user = init.user ?? '';
    const claims = user === '' ? '' : (init.claims ?? '');
    const r = await this.scripts.run('rwsCreate', init.sid, init.now, [
      init.keyHash,
      init.owner,
      user,
      claims,
    ]);
    if (r[0] === 'x')
      throw new RwsError('session_exists', 'a session with this sid already exists');
    const record: SessionRecord = {
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
    if (user !== '') record.user = user;
    if (claims !== '') record.claims = claims;
    return record;
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const r = await this.scripts.run('rwsGet', sid, 0, []);
    if (r[0] === 'u') return undefined;
    return toRecord(sid, String(r[1]), r, 2);
  }

  async resume(
    sid: string,
    keyHash: string,
    ack: number,
    now: number,
    owner: string,
    user?: string,
  ): Promise<ResumeResult> {
    const r = await this.scripts.run('rwsResume', sid, now, [keyHash, ack, owner, user ?? '']);
    return resumeReply(sid, r, this.limits.messageTtlMs);
  }

  async detach(sid: string, now: number, sessionTtlMs: number, owner: string): Promise<boolean> {
    const r = await this.scripts.runRaw('rwsDetach', sid, now, [sessionTtlMs, owner]);
    return Number(r) === 1;
  }

  async deleteSession(sid: string): Promise<StoredMessage[] | undefined> {
    const r = await this.scripts.run('rwsDelete', sid, 0, []);
    if (r[0] === 'u') return undefined;
    return this.messages(r, 1, (r.length - 1) / 6);
  }

  sessionIdPages(pageSize: number): AsyncGenerator<string[]> {
    return sessionIdPages(this.conn, this.keys, pageSize);
  }

  async userSessions(user: string, limit: number): Promise<SessionRecord[]> {
    this.conn.assertOpen();
    this.conn.assertReady();
    if (!Number.isInteger(limit) || limit < 1)
      throw new RwsError('bad_page_size', `a page size is an integer >= 1, got ${limit}`);
    this.appends.flush();
    const sids = await userSessionIds(this.conn, this.keys, user, limit);
    const records = await Promise.all(sids.map((sid) => this.getSession(sid)));
    return records.filter((r): r is SessionRecord => r !== undefined);
  }

  /**
   * Appends wait in a per-session batch until the end of the current microtask queue, then
   * go to Redis as one script call per session (redis-append-batch.ts). Any other call on the
   * session sends its batch first, so calls still take effect in call order.
   */
  append(sid: string, message: NewMessage, now: number): Promise<AppendResult> {
    try {
      this.conn.assertOpen();
      this.conn.assertReady();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.appends.add(sid, message, now);
  }

  async ack(sid: string, seq: number, now: number): Promise<AckResult> {
    const r = await this.scripts.run('rwsAck', sid, now, [seq]);
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
    const r = await this.scripts.run('rwsRead', sid, now, [
      afterSeq,
      Math.max(0, Math.floor(limit)),
    ]);
    return readReply(r, this.limits.messageTtlMs);
  }

  async claimClientMessage(
    sid: string,
    id: string,
    now: number,
    owner: string,
  ): Promise<ClaimResult> {
    const l = this.limits;
    const r = await this.scripts.runRaw('rwsClaim', sid, now, [
      id,
      owner,
      l.dedupWindowMs,
      l.dedupMaxIds,
    ]);
    return r === 'u' ? 'unknown_session' : (r as ClaimResult);
  }

  async releaseClientMessage(sid: string, id: string): Promise<void> {
    await this.scripts.runRaw('rwsRelease', sid, 0, [id]);
  }

  async completeClientMessage(sid: string, id: string, result?: string): Promise<void> {
    await this.scripts.runRaw('rwsComplete', sid, 0, [
      id,
      result === undefined ? '0' : '1',
      result ?? '',
      this.limits.dedupResultBudget,
    ]);
  }

  async clientMessageResult(sid: string, id: string, now: number): Promise<string | undefined> {
    const r = await this.scripts.runRaw('rwsResult', sid, now, [id, this.limits.dedupWindowMs]);
    return typeof r === 'string' ? r : undefined;
  }

  async sweep(now: number): Promise<SweepResult> {
    this.conn.assertOpen();
    this.conn.assertReady();
    this.appends.flush();
    const result: SweepResult = { expired: [], reaped: [] };
    const due = await dueSessions(this.conn, this.keys, now);
    if (due.length === 0) return result;
    // Settled one by one: a session whose sweep failed removed nothing, but one that ran
    // removed what it returns, which must be handed back even when another call failed.
    const settled = await Promise.allSettled(
      due.map((sid) => this.scripts.run('rwsSweep', sid, now, [])),
    );
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
    this.conn.assertOpen();
    this.conn.assertReady();
    this.appends.flush();
    return partitionStats(this.conn, this.keys);
  }

  async topSessions(limit: number, sort: SessionSort): Promise<SessionRecord[]> {
    this.conn.assertOpen();
    this.conn.assertReady();
    this.appends.flush();
    if (limit <= 0) return [];
    const winners = await topSessionIds(this.conn, this.keys, limit, sort);
    const records = await Promise.all(winners.map((sid) => this.getSession(sid)));
    return records.filter((r): r is SessionRecord => r !== undefined);
  }

  ping(): Promise<void> {
    return this.conn.ping();
  }

  async close(): Promise<void> {
    if (this.conn.isClosed) return;
    this.appends.flush();
    await this.conn.close();
  }

  private messages(r: Reply, start: number, count: number): StoredMessage[] {
    return readMessages(r, start, count, this.limits.messageTtlMs);
  }
}

/** SHA-1 of a script, as EVALSHA names it (exported for tests). */
export const scriptSha = (lua: string): string => createHash('sha1').update(lua).digest('hex');
