/**
 * The node's view of every session's outbox: the store's primitives plus the overflow
 * policy's meaning, dead-lettering and events. One instance per server.
 */
import type { Clock } from '../clock.js';
import type { CoreEvents, DropReason } from '../core-events.js';
import { RwsError } from '../errors.js';
import type { Emitter } from '../events.js';
import type {
  AckResult,
  AppendResult,
  NewMessage,
  OutboxLimits,
  ReadResult,
  ResumeResult,
  StoredMessage,
  Store,
  SweepResult,
  SyncAppend,
} from '../store/store.js';
import { hasSyncAppend } from '../store/store.js';
import { DeadLetterWriter, type DeadLetterSink } from './dead-letter-store.js';

export type AppendOutcome =
  /** `dropped`: older messages evicted by drop-oldest to make room (already dead-lettered). */
  | { status: 'stored'; seq: number; dropped: readonly StoredMessage[] }
  | { status: 'duplicate'; seq: number }
  /** Not stored: policy drop-newest, or disconnect (the caller closes the slow consumer). */
  | { status: 'dropped'; policy: 'drop-newest' | 'disconnect' }
  /** Not stored: policy reject. The sender gets a typed error. */
  | { status: 'rejected' }
  | { status: 'unknown_session' };

/** One stored send in this many is timed (`sendTiming`); a power of two. */
export const SEND_TIMING_EVERY = 128;

export class Outbox {
  /**
   * Stored sends and their bytes since start: plain fields that the metrics read at scrape
   * time. An event per send cost 3-8 % of the send path (an allocation and a call per
   * message, and the scavenges they bring); a field increment costs ~1 ns.
   */
  readonly totals = { sent: 0, sentBytes: 0 };
  /** Appends so far (for sampling the append time). */
  private appends = 0;
  /** The store answers appends at once (`SyncAppend`): `appendNow` may be used. */
  readonly canAppendNow: boolean;
  /** Dead letters go through it: never awaited, a failing store reported and counted. */
  readonly deadLetters: DeadLetterWriter;
  /** The store itself when it implements `SyncAppend`, decided once here (not per send). */
  private readonly sync: SyncAppend | undefined;
  constructor(
    readonly store: Store,
    readonly limits: OutboxLimits,
    dlq: DeadLetterSink,
    private readonly events: Emitter<CoreEvents>,
    private readonly clock: Clock,
  ) {
    this.sync = hasSyncAppend(store) ? store : undefined;
    this.canAppendNow = this.sync !== undefined;
    this.deadLetters = new DeadLetterWriter(dlq, events);
  }

  /** `rejectWhenFull`: a full outbox refuses the message whatever the overflow policy. */
  async append(sid: string, message: NewMessage, rejectWhenFull = false): Promise<AppendOutcome> {
    const now = this.clock.now();
    const t0 = this.timingStart();
    const r = await this.store.append(sid, message, now);
    return this.appended(sid, message, rejectWhenFull, now, t0, r);
  }

  /**
   * `append` without a promise, for a store that implements `SyncAppend` (`canAppendNow`): the
   * same outcome, events and counts. Throws where `append` rejects (e.g. `store_closed`).
   */
  appendNow(sid: string, message: NewMessage, rejectWhenFull = false): AppendOutcome {
    const sync = this.sync;
    if (sync === undefined)
      throw new RwsError(
        'store_not_synchronous',
        `the ${this.store.kind} store has no appendNow: use append (see canAppendNow)`,
      );
    const now = this.clock.now();
    const t0 = this.timingStart();
    const r = sync.appendNow(sid, message, now);
    return this.appended(sid, message, rejectWhenFull, now, t0, r);
  }

  /**
   * The start of a sampled store-append time, or -1. Sampled 1 send in SEND_TIMING_EVERY, and
   * only when someone listens: a clock read costs 120-240 ns on the 2-core VMs here. Two per
   * send would be ~10 % of the ~2 µs send path; 1 in 16 measured +2 % (metrics-send-path),
   * 1 in 128 within the A/A noise; the metrics bar is < 1 %.
   */
  private timingStart(): number {
    return (++this.appends & (SEND_TIMING_EVERY - 1)) === 0 && this.events.has('sendTiming')
      ? performance.now()
      : -1;
  }

  /** What both appends do with the store's answer: counts, events, dead letters, policy. */
  private appended(
    sid: string,
    message: NewMessage,
    rejectWhenFull: boolean,
    now: number,
    t0: number,
    r: AppendResult,
  ): AppendOutcome {
    switch (r.status) {
      case 'stored':
        if (r.dropped.length > 0) this.deadLetter(sid, 'overflow', r.dropped);
        this.totals.sent++;
        this.totals.sentBytes += message.bytes;
        if (t0 >= 0) this.events.emit('sendTiming', { durationMs: performance.now() - t0 });
        if (this.events.has('send'))
          this.events.emit('send', { sid, seq: r.seq, bytes: message.bytes });
        return r; // the store's own answer: no second object per send
      case 'duplicate':
        if (message.id !== undefined && this.events.has('duplicateSend'))
          this.events.emit('duplicateSend', { sid, id: message.id, seq: r.seq });
        return r;
      case 'unknown_session':
        return r;
      case 'full': {
        const policy = this.limits.overflow;
        // drop-oldest refuses only a message larger than the whole byte bound: refuse it to
        // the sender too (the hub checks the size first, so this is a last line of defence).
        if (policy === 'reject' || policy === 'drop-oldest' || rejectWhenFull)
          return { status: 'rejected' };
        this.deadLetters.add(sid, 'overflow', message.data, now);
        this.events.emit('drop', { sid, reason: 'overflow', count: 1 });
        return {
          status: 'dropped',
          policy: policy === 'disconnect' ? 'disconnect' : 'drop-newest',
        };
      }
    }
  }

  async ack(sid: string, seq: number): Promise<AckResult> {
    const now = this.clock.now();
    const r = await this.store.ack(sid, seq, now);
    if (r.status === 'ok' && r.removed > 0 && this.events.has('ack'))
      this.events.emit('ack', {
        sid,
        seq: r.acked,
        removed: r.removed,
        latencyMs: r.newestEnqueuedAt === undefined ? undefined : now - r.newestEnqueuedAt,
      });
    return r;
  }

  async read(sid: string, afterSeq: number, limit: number): Promise<ReadResult> {
    const r = await this.store.read(sid, afterSeq, limit, this.clock.now());
    if (r.status === 'ok' && r.expired.length > 0) this.deadLetter(sid, 'ttl', r.expired);
    return r;
  }

  /** `owner`: the resuming connection's token (see `Store.detach`). */
  async resume(
    sid: string,
    keyHash: string,
    ack: number,
    owner: string,
    user?: string,
  ): Promise<ResumeResult> {
    const r = await this.store.resume(sid, keyHash, ack, this.clock.now(), owner, user);
    if (r.status === 'ok' && r.expired.length > 0) this.deadLetter(sid, 'ttl', r.expired);
    return r;
  }

  /** Forget a session at once (bye, admin kick); what it still held is dead-lettered. */
  async forget(sid: string): Promise<boolean> {
    const left = await this.store.deleteSession(sid);
    if (left === undefined) return false;
    if (left.length > 0) this.deadLetter(sid, 'session_closed', left);
    return true;
  }

  /** One sweep: expire messages and reap detached sessions whose TTL passed. */
  async sweep(): Promise<SweepResult> {
    const r = await this.store.sweep(this.clock.now());
    for (const e of r.expired) this.deadLetter(e.sid, 'ttl', e.messages);
    for (const s of r.reaped) {
      if (s.messages.length > 0) this.deadLetter(s.sid, 'session_reaped', s.messages);
      this.events.emit('reap', { sid: s.sid, leftover: s.messages.length });
    }
    return r;
  }

  private deadLetter(sid: string, reason: DropReason, messages: readonly StoredMessage[]): void {
    const now = this.clock.now();
    for (const m of messages) this.deadLetters.add(sid, reason, m.data, now, m.seq);
    this.events.emit('drop', { sid, reason, count: messages.length });
    if (reason === 'ttl') this.events.emit('expire', { sid, count: messages.length });
  }
}
