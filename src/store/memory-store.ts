/**
 * The embedded store: every session lives in this process. The default for one node.
 *
 * Every method does all of its work synchronously before its promise resolves, so results
 * take effect in call order, which is the ordering the contract asks for. Returned messages
 * are the stored objects themselves (no copy on the send path): callers must not mutate them.
 */
/* eslint-disable @typescript-eslint/require-await -- deliberate: the contract is async for
   networked stores, and an async method turns a thrown store_closed into a rejection. */
import { randomBytes } from 'node:crypto';
import { RwsError } from '../errors.js';
import { DedupWindow } from './dedup-window.js';
import { ResultBudget } from './result-budget.js';
import { DEFAULT_BUCKET_MS, ExpiryWheel } from './expiry-wheel.js';
import type { OutboxLimits } from './limits.js';
import { HeadTimes } from './head-times.js';
import type { OutboxTotals } from './session-outbox.js';
import { assertLimit, idPages, storeStats, topSessions } from './memory-listing.js';
import { appendMessage } from './session-append.js';
import {
  applyAck,
  CLAIM_DONE,
  expirePrefix,
  keyMatches,
  newSessionState,
  nextDeadline,
  toRecord,
  type SessionState,
} from './session-state.js';
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
  StoreStats,
  SyncAppend,
  StoredMessage,
  SweepResult,
} from './store.js';

export interface MemoryStoreOptions {
  limits: OutboxLimits;
  /** Width of an expiry-wheel bucket, ms (default 100). */
  bucketMs?: number;
  /** Called for every session a sweep examines; tests use it to show a sweep's cost. */
  onSweepVisit?: (sid: string) => void;
}

/** The owner of sessions created, resumed or detached without one (direct use only). */
export const DIRECT_OWNER = '';

const UNKNOWN = { status: 'unknown_session' } as const;

export class MemoryStore implements Store, SyncAppend {
  readonly kind = 'memory';

  private readonly limits: OutboxLimits;
  private readonly onSweepVisit: (sid: string) => void;
  private sessions = new Map<string, SessionState>();
  /** Each user's live sessions, in creation order (`Store` "Users"). */
  private users = new Map<string, Set<SessionState>>();
  private wheel: ExpiryWheel<SessionState>;
  private readonly totals: OutboxTotals = { messages: 0, bytes: 0, heads: new HeadTimes() };
  private attachedCount = 0;
  private closed = false;
  /**
   * The epoch of every session of this store. A memory store never loses a session's stream
   * while keeping its record, so a stream's epoch never changes; a restart is a new store with
   * a new epoch. One string per store rather than per session (an idle connection's heap is a
   * benchmarked figure).
   */
  readonly epoch = randomBytes(8).toString('hex');

  constructor(options: MemoryStoreOptions) {
    this.limits = { ...options.limits };
    this.onSweepVisit = options.onSweepVisit ?? (() => {});
    this.wheel = new ExpiryWheel(options.bucketMs ?? DEFAULT_BUCKET_MS);
  }

  /**
   * `owner` may be left out when the memory store is used directly (tests, benchmarks): it is
   * then `DIRECT_OWNER`, and so is a `detach` or `resume` without one. Through `Store` it is
   * always given.
   */
  async createSession(init: {
    sid: string;
    keyHash: string;
    now: number;
    owner?: string;
    user?: string;
    claims?: string;
  }): Promise<SessionRecord> {
    this.assertOpen();
    if (this.sessions.has(init.sid)) {
      throw new RwsError('session_exists', 'a session with this sid already exists');
    }
    const identity = init.user === undefined ? undefined : { user: init.user, claims: init.claims };
    const s = newSessionState(
      init.sid,
      init.keyHash,
      init.now,
      init.owner ?? DIRECT_OWNER,
      identity,
    );
    this.sessions.set(s.sid, s);
    if (identity !== undefined) {
      let mine = this.users.get(identity.user);
      if (mine === undefined) this.users.set(identity.user, (mine = new Set()));
      mine.add(s);
    }
    this.attachedCount++;
    return toRecord(s, this.epoch);
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    return s === undefined ? undefined : toRecord(s, this.epoch);
  }

  async resume(
    sid: string,
    keyHash: string,
    ack: number,
    now: number,
    owner = DIRECT_OWNER,
    user?: string,
  ): Promise<ResumeResult> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s === undefined) return UNKNOWN;
    if (!keyMatches(s, keyHash)) return { status: 'bad_key' };
    if (s.identity?.user !== user) return { status: 'wrong_user' };
    if (ack > s.last) return { status: 'bad_ack', last: s.last };
    applyAck(s, ack);
    const expired = expirePrefix(s, now);
    s.owner = owner;
    if (!s.attached) {
      s.attached = true;
      s.expiresAt = undefined;
      this.attachedCount++;
    }
    this.settle(s);
    return {
      status: 'ok',
      session: toRecord(s, this.epoch),
      acked: s.acked,
      missing: s.losses?.count ?? 0,
      messages: s.outbox.after(s.acked, Number.POSITIVE_INFINITY),
      expired,
      epochChanged: false,
    };
  }

  async detach(
    sid: string,
    now: number,
    sessionTtlMs: number,
    owner = DIRECT_OWNER,
  ): Promise<boolean> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    // Fenced: a connection that lost the session to a takeover changes nothing.
    if (s === undefined || s.owner !== owner) return false;
    if (s.attached) {
      s.attached = false;
      this.attachedCount--;
    }
    // 0 means "at the next sweep", never "use the default".
    s.expiresAt = now + Math.max(0, sessionTtlMs);
    this.settle(s);
    return true;
  }

  async deleteSession(sid: string): Promise<StoredMessage[] | undefined> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    return s === undefined ? undefined : this.forget(s);
  }

  async userSessions(user: string, limit: number): Promise<SessionRecord[]> {
    this.assertOpen();
    assertLimit(limit);
    const out: SessionRecord[] = [];
    for (const s of this.users.get(user) ?? []) {
      if (out.length >= limit) break;
      out.push(toRecord(s, this.epoch));
    }
    return out;
  }

  /** Pages of live session ids (see `idPages`: a live iterator over the session Map). */
  async *sessionIdPages(pageSize: number): AsyncGenerator<string[]> {
    this.assertOpen();
    yield* idPages(this.sessions, pageSize, () => this.assertOpen());
  }

  async append(sid: string, message: NewMessage, now: number): Promise<AppendResult> {
    return this.appendNow(sid, message, now);
  }

  /** `append` without the promise: the send path's fast path (see `SyncAppend`). */
  appendNow(sid: string, message: NewMessage, now: number): AppendResult {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s === undefined) return UNKNOWN;
    const r = appendMessage(s, message, now, this.limits, this.totals);
    if (r.status === 'stored') this.settle(s);
    return r;
  }

  async ack(sid: string, seq: number, _now: number): Promise<AckResult> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s === undefined) return UNKNOWN;
    if (seq > s.last) return { status: 'bad_ack', last: s.last };
    const removed = applyAck(s, seq);
    this.settle(s);
    const at = removed > 0 ? s.outbox.lastRemovedEnqueuedAt : undefined;
    return at === undefined
      ? { status: 'ok', acked: s.acked, removed }
      : { status: 'ok', acked: s.acked, removed, newestEnqueuedAt: at };
  }

  async read(sid: string, afterSeq: number, limit: number, now: number): Promise<ReadResult> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s === undefined) return UNKNOWN;
    const expired = expirePrefix(s, now);
    this.settle(s);
    const messages = s.outbox.after(afterSeq, limit);
    const lostTo = s.losses?.highest ?? 0;
    return { status: 'ok', messages, expired, last: s.last, lostTo };
  }

  async claimClientMessage(
    sid: string,
    id: string,
    now: number,
    owner = DIRECT_OWNER,
  ): Promise<ClaimResult> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s === undefined) return 'unknown_session';
    // A kept result leaves with its id: it could never be served after (the window is
    // checked first), yet it would hold its bytes until the budget pushed it out.
    const window = (s.clientIds ??= new DedupWindow(
      this.limits.dedupWindowMs,
      this.limits.dedupMaxIds,
      (forgotten) => s.clientResults?.delete(forgotten),
    ));
    const claim = window.get(id, now);
    if (claim !== undefined) return claim === CLAIM_DONE ? 'duplicate' : 'in_progress';
    window.set(id, owner, now);
    // An id handled again after its window must not answer with the earlier run's result.
    s.clientResults?.delete(id);
    return 'new';
  }

  async releaseClientMessage(sid: string, id: string): Promise<void> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    s?.clientIds?.delete(id);
    s?.clientResults?.delete(id);
  }

  async completeClientMessage(sid: string, id: string, result?: string): Promise<void> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s?.clientIds?.update(id, CLAIM_DONE) !== true || result === undefined) return;
    (s.clientResults ??= new ResultBudget(this.limits.dedupResultBudget)).set(id, result);
  }

  async clientMessageResult(sid: string, id: string, now: number): Promise<string | undefined> {
    this.assertOpen();
    const s = this.sessions.get(sid);
    if (s?.clientIds?.get(id, now) === undefined) return undefined;
    return s.clientResults?.get(id);
  }

  async sweep(now: number): Promise<SweepResult> {
    this.assertOpen();
    const result: SweepResult = { expired: [], reaped: [] };
    for (const s of this.wheel.due(now)) {
      this.onSweepVisit(s.sid);
      if (!s.attached && s.expiresAt !== undefined && s.expiresAt <= now) {
        result.reaped.push({ sid: s.sid, messages: this.forget(s) });
        continue;
      }
      const messages = expirePrefix(s, now);
      if (messages.length > 0) result.expired.push({ sid: s.sid, messages });
      this.settle(s);
    }
    return result;
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    return storeStats(this.sessions, this.totals, this.attachedCount);
  }

  async topSessions(limit: number, sort: SessionSort): Promise<SessionRecord[]> {
    this.assertOpen();
    return topSessions(this.sessions.values(), limit, sort).map((s) => toRecord(s, this.epoch));
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sessions = new Map();
    this.users = new Map();
    this.wheel = new ExpiryWheel();
    this.totals.messages = 0;
    this.totals.bytes = 0;
    this.totals.heads = new HeadTimes();
    this.attachedCount = 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new RwsError('store_closed', 'the store is closed');
  }

  /**
   * Keep the session's wheel registration at or before its next deadline (head message
   * expiry, or reaping if detached). A later deadline leaves the early registration in place:
   * it fires, finds nothing due, and registers again.
   */
  private settle(s: SessionState): void {
    const next = nextDeadline(s);
    if (next === undefined) this.wheel.unschedule(s);
    else this.wheel.schedule(s, next);
  }

  private forget(s: SessionState): StoredMessage[] {
    this.sessions.delete(s.sid);
    if (s.identity !== undefined) {
      const mine = this.users.get(s.identity.user);
      mine?.delete(s);
      if (mine?.size === 0) this.users.delete(s.identity.user);
    }
    this.wheel.unschedule(s);
    if (s.attached) this.attachedCount--;
    const held = s.outbox.clear();
    // Its slot in the head-time index goes back for the next outbox (src/store/head-times.ts).
    s.outbox.release();
    return held;
  }
}
