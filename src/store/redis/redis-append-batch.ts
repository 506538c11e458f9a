/**
 * The Redis store's append batches: appends wait in a per-session batch until the end of the
 * current microtask queue, then go to Redis as one script call per session (see APPEND in
 * redis-scripts-outbox.ts). Any other call on the session sends its batch first
 * (src/store/redis/redis-store.ts), so calls still take effect in call order.
 */
import type { OutboxLimits } from '../limits.js';
import type { AppendResult, NewMessage } from '../store.js';
import { readMessages, UNKNOWN, type Reply } from './redis-replies.js';

interface PendingAppend {
  message: NewMessage;
  now: number;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** Most appends one script call carries (its reply stays bounded too). */
const MAX_BATCH = 256;

/** Runs the append script for `sid` (without sending its batch first: this is the batch). */
export type SendAppends = (sid: string, now: number, args: (string | number)[]) => Promise<unknown>;

export class AppendBatches {
  /** Appends waiting for the end of the microtask queue, per session, in call order. */
  private readonly batches = new Map<string, PendingAppend[]>();
  private flushQueued = false;

  constructor(
    private readonly limits: OutboxLimits,
    private readonly run: SendAppends,
  ) {}

  /** Whether any append is waiting. */
  get waiting(): boolean {
    return this.batches.size > 0;
  }

  /** Queue an append (the store checked it may serve); settles when its batch's reply comes. */
  add(sid: string, message: NewMessage, now: number): Promise<AppendResult> {
    let batch = this.batches.get(sid);
    if (batch === undefined) {
      batch = [];
      this.batches.set(sid, batch);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flush);
      }
    }
    const b = batch;
    return new Promise<AppendResult>((resolve, reject) => {
      b.push({ message, now, resolve, reject });
      if (b.length >= MAX_BATCH) this.send(sid);
    });
  }

  /** Send every waiting batch now. */
  readonly flush = (): void => {
    this.flushQueued = false;
    for (const sid of [...this.batches.keys()]) this.send(sid);
  };

  /** Send `sid`'s waiting appends now (before any other call on the session). */
  send(sid: string): void {
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
    this.run(sid, batch[0]!.now, args).then(
      (reply) => this.settle(batch, reply as Reply),
      (error: unknown) => {
        for (const a of batch) a.reject(error);
      },
    );
  }

  private settle(batch: PendingAppend[], r: Reply): void {
    if (r[0] === 'S') {
      // Every message stored in order, nothing dropped or superseded.
      const first = Number(r[1]) - batch.length + 1;
      for (const [k, a] of batch.entries())
        a.resolve({ status: 'stored', seq: first + k, dropped: [] });
      return;
    }
    const ttl = this.limits.messageTtlMs;
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
          const dropped = readMessages(r, i, droppedCount, ttl);
          i += droppedCount * 6;
          if (Number(r[i++]) === 1) {
            const [superseded] = readMessages(r, i, 1, ttl);
            i += 6;
            a.resolve({ status: 'stored', seq, dropped, superseded: superseded! });
          } else a.resolve({ status: 'stored', seq, dropped });
        }
      }
    }
  }
}
