/**
 * A stand-in for a networked dead-letter store (tests only): every answer is a promise and
 * ids are Redis-stream-like strings (`"1700000000000-3"`), over a MemoryDeadLetterStore. It
 * shows that the port's users (the outbox, the admin API, the metrics) assume neither
 * synchronous answers nor numeric ids. `failing` makes every call reject, as a store that
 * went down would.
 */
import { RwsError } from '../../errors.js';
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterId,
  DeadLetterQuery,
  DeadLetterReason,
  DeadLetterStats,
  DeadLetterStore,
} from '../dead-letter-store.js';
import { MemoryDeadLetterStore, type MemoryDeadLetter } from '../dead-letters.js';

const STREAM_ID = /^(\d{1,15})-(\d{1,15})$/;

export class StreamIdDeadLetterStore implements DeadLetterStore {
  readonly kind = 'stream-test';
  readonly inner: MemoryDeadLetterStore;
  /** While true every call rejects (the store is down). */
  failing = false;
  /** Calls so far, by method (to see what its users ask of it). */
  readonly calls: Record<string, number> = {};

  constructor(
    max: number,
    private readonly epochMs = 1_700_000_000_000,
    maxBytes?: number,
  ) {
    this.inner = new MemoryDeadLetterStore(max, maxBytes);
  }

  add(sid: string, reason: DeadLetterReason, data: string, at: number, seq?: number) {
    return this.answer('add', () => this.inner.add(sid, reason, data, at, seq));
  }

  list(query: DeadLetterQuery = {}) {
    return this.answer('list', () => {
      const { after, ...rest } = query;
      const n = after === undefined ? undefined : this.toInner(after);
      if (after !== undefined && n === undefined)
        throw new RwsError('bad_cursor', `not a stream id: ${String(after)}`);
      return this.inner
        .list(n === undefined ? rest : { ...rest, after: n })
        .map((e) => this.out(e));
    });
  }

  get(id: DeadLetterId) {
    return this.answer('get', () => {
      const n = this.toInner(id);
      const e = n === undefined ? undefined : this.inner.get(n);
      return e === undefined ? undefined : this.out(e);
    });
  }

  delete(id: DeadLetterId) {
    return this.answer('delete', () => {
      const n = this.toInner(id);
      return n !== undefined && this.inner.delete(n);
    });
  }

  purge(filter?: DeadLetterFilter) {
    return this.answer('purge', () => this.inner.purge(filter));
  }

  claim(id: DeadLetterId) {
    return this.answer('claim', () => {
      const n = this.toInner(id);
      return n !== undefined && this.inner.claim(n);
    });
  }

  unclaim(id: DeadLetterId) {
    return this.answer('unclaim', () => {
      const n = this.toInner(id);
      if (n !== undefined) this.inner.unclaim(n);
    });
  }

  stats(): Promise<DeadLetterStats> {
    return this.answer('stats', () => this.inner.stats());
  }

  parseId(text: string): string | undefined {
    const m = STREAM_ID.exec(text);
    return m === null ? undefined : `${Number(m[1])}-${Number(m[2])}`;
  }

  private out(e: MemoryDeadLetter): DeadLetter {
    return { ...e, id: `${this.epochMs}-${e.id}` };
  }

  private toInner(id: DeadLetterId): number | undefined {
    const m = typeof id === 'string' ? STREAM_ID.exec(id) : null;
    if (m === null || Number(m[1]) !== this.epochMs) return undefined;
    return Number(m[2]);
  }

  private answer<T>(method: string, f: () => T): Promise<T> {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    if (this.failing) return Promise.reject(new Error(`dead-letter store down (${method})`));
    return new Promise((resolve) => resolve(f()));
  }
}
