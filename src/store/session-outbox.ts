/**
 * One session's retained messages, in seq order, with their count and byte totals and the
 * latest-value-wins key index.
 *
 * An array with a moving head: acks, expiry and eviction all take from the front, and
 * `Array.prototype.shift` is O(n) once V8 leaves its fast path, so the head index moves
 * instead and the dead prefix is cut off once it is at least half the array.
 */
import type { HeadTimes } from './head-times.js';
import type { StoredMessage } from './store.js';

/** Totals shared by every outbox of a store, so that `stats()` is O(1). */
export interface OutboxTotals {
  messages: number;
  bytes: number;
  /** Where each outbox keeps its oldest message's enqueue time (the store's `oldestAt`). */
  heads?: HeadTimes;
}

const COMPACT_MIN = 32;

export class SessionOutbox {
  private items: StoredMessage[] = [];
  private head = 0;
  private byteCount = 0;
  /** Latest retained seq per key; created on the first keyed message (most sessions have none). */
  private keys: Map<string, number> | undefined;

  /** This outbox's slot in `totals.heads` (-1: none, or released). */
  private slot: number;

  constructor(private readonly totals: OutboxTotals) {
    this.slot = totals.heads?.alloc() ?? -1;
  }

  get count(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteCount;
  }

  first(): StoredMessage | undefined {
    return this.items[this.head];
  }

  /** Append a message whose seq is above every retained one. */
  push(message: StoredMessage): void {
    this.items.push(message);
    this.added(message);
    if (this.items.length - this.head === 1) this.headChanged();
  }

  /** The retained message with `key`, which a new message with that key would supersede. */
  keyed(key: string): StoredMessage | undefined {
    const seq = this.keys?.get(key);
    if (seq === undefined) return undefined;
    const i = this.indexAfter(seq - 1);
    const m = this.items[i];
    return m !== undefined && m.seq === seq ? m : undefined;
  }

  /** Remove one message from anywhere (supersede). O(n) splice: keyed sends are rare. */
  remove(message: StoredMessage): boolean {
    const i = this.indexAfter(message.seq - 1);
    if (this.items[i]?.seq !== message.seq) return false;
    this.items.splice(i, 1);
    this.removed(message);
    if (i === this.head) this.headChanged();
    return true;
  }

  shift(): StoredMessage | undefined {
    const m = this.items[this.head];
    if (m === undefined) return undefined;
    this.head++;
    this.removed(m);
    this.maybeCompact();
    this.headChanged();
    return m;
  }

  /** Enqueue time of the newest message the last `removeThrough` removed (ack latency). */
  lastRemovedEnqueuedAt: number | undefined;

  /** Remove every message with seq <= `seq`; returns how many. */
  removeThrough(seq: number): number {
    const end = this.indexAfter(seq);
    for (let i = this.head; i < end; i++) this.removed(this.items[i]!);
    const n = end - this.head;
    this.lastRemovedEnqueuedAt = n > 0 ? this.items[end - 1]!.enqueuedAt : undefined;
    this.head = end;
    this.maybeCompact();
    if (n > 0) this.headChanged();
    return n;
  }

  /** Remove the prefix whose `expiresAt <= now`. */
  removeExpired(now: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (let m = this.first(); m !== undefined && m.expiresAt <= now; m = this.first()) {
      out.push(m);
      this.shift();
    }
    return out;
  }

  /** Up to `limit` messages with seq > `afterSeq`, in order. */
  after(afterSeq: number, limit: number): StoredMessage[] {
    if (limit <= 0) return [];
    const start = this.indexAfter(afterSeq);
    return this.items.slice(start, Math.min(this.items.length, start + limit));
  }

  /** Empty the outbox and return what it held. */
  clear(): StoredMessage[] {
    // Nothing to hand over (and the shared empty outbox is never written).
    if (this.head === this.items.length) return [];
    // Hand the array over rather than copy it when nothing was removed from its front (a
    // sweep that reaps many sessions allocated a copy per session).
    const out = this.head === 0 ? this.items : this.items.slice(this.head);
    for (const m of out) this.removed(m);
    this.items = [];
    this.head = 0;
    this.headChanged();
    return out;
  }

  /** The session is forgotten: give its slot in `totals.heads` back (after `clear()`). */
  release(): void {
    if (this.slot < 0) return;
    this.totals.heads!.release(this.slot);
    this.slot = -1;
  }

  /** Index of the first live message with seq > `seq` (binary search). */
  private indexAfter(seq: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private added(m: StoredMessage): void {
    this.byteCount += m.bytes;
    this.totals.messages++;
    this.totals.bytes += m.bytes;
    if (m.key !== undefined) (this.keys ??= new Map()).set(m.key, m.seq);
  }

  private removed(m: StoredMessage): void {
    this.byteCount -= m.bytes;
    this.totals.messages--;
    this.totals.bytes -= m.bytes;
    if (m.key !== undefined && this.keys?.get(m.key) === m.seq) this.keys.delete(m.key);
  }

  private headChanged(): void {
    if (this.slot >= 0)
      this.totals.heads!.set(this.slot, this.items[this.head]?.enqueuedAt ?? Infinity);
  }

  private maybeCompact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_MIN && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
