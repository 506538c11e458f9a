/**
 * The memory implementation of the dead-letter port (src/outbox/dead-letter-store.ts): one
 * node's bounded queue. When full, the oldest entry is evicted and counted in `evicted`.
 * It answers synchronously (the port's callers await, which takes a plain value too), so
 * code holding this class may read it directly: `list()` is an array, `size` a number.
 */
import { RwsError } from '../errors.js';
import {
  pageLimit,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterId,
  type DeadLetterQuery,
  type DeadLetterReason,
  type DeadLetterStats,
  type DeadLetterStore,
} from './dead-letter-store.js';

/** A dead letter of the memory store: its id is a number, 1 and up. */
export interface MemoryDeadLetter extends DeadLetter {
  id: number;
}

export class MemoryDeadLetterStore implements DeadLetterStore {
  readonly kind = 'memory';
  private readonly entries = new Map<number, MemoryDeadLetter>();
  private readonly claimed = new Set<number>();
  private nextId = 1;
  /** Entries pushed out because the queue was full. */
  evicted = 0;
  /** Entries ever added, by reason. */
  readonly added: Record<DeadLetterReason, number> = {
    ttl: 0,
    overflow: 0,
    session_reaped: 0,
    session_closed: 0,
    upstream_failed: 0,
  };

  /** @param max the most entries kept (`dlqMax`); 0 keeps none (each add counts as evicted). */
  constructor(private readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 0)
      throw new RwsError(
        'bad_options',
        `the dead-letter bound must be an integer >= 0, got ${max}`,
      );
  }

  get size(): number {
    return this.entries.size;
  }

  add(sid: string, reason: DeadLetterReason, data: string, at: number, seq?: number): void {
    this.added[reason]++;
    if (this.max <= 0) {
      this.evicted++;
      return;
    }
    const id = this.nextId++;
    const entry: MemoryDeadLetter =
      seq === undefined ? { id, sid, reason, data, at } : { id, sid, seq, reason, data, at };
    this.entries.set(id, entry);
    if (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
      this.evicted++;
    }
  }

  /**
   * Mark an entry as being replayed; false when it already is (a second replay racing the
   * first would send it twice). At most one mark per entry, so the set stays bounded.
   */
  claim(id: DeadLetterId): boolean {
    const key = this.key(id);
    if (key === undefined || this.claimed.has(key) || !this.entries.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  unclaim(id: DeadLetterId): void {
    const key = this.key(id);
    if (key !== undefined) this.claimed.delete(key);
  }

  get(id: DeadLetterId): MemoryDeadLetter | undefined {
    const key = this.key(id);
    return key === undefined ? undefined : this.entries.get(key);
  }

  delete(id: DeadLetterId): boolean {
    const key = this.key(id);
    return key !== undefined && this.entries.delete(key);
  }

  /**
   * Oldest first, at most `pageLimit(query.limit)` (default 100, 1..1001). A string `after`
   * must be one of this store's ids as text; anything else is a `bad_cursor` RwsError.
   */
  list(query: DeadLetterQuery = {}): MemoryDeadLetter[] {
    const limit = pageLimit(query.limit);
    let after: number | undefined;
    if (query.after !== undefined) {
      after = this.key(query.after);
      if (after === undefined)
        throw new RwsError(
          'bad_cursor',
          `not a dead-letter id of the memory store: ${JSON.stringify(String(query.after).slice(0, 32))}`,
        );
    }
    const out: MemoryDeadLetter[] = [];
    for (const e of this.entries.values()) {
      if (after !== undefined && e.id <= after) continue;
      if (query.reason !== undefined && e.reason !== query.reason) continue;
      if (query.sid !== undefined && e.sid !== query.sid) continue;
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  clear(): number {
    const n = this.entries.size;
    this.entries.clear();
    return n;
  }

  /** Remove the entries matching `filter` (all when empty); returns how many. */
  purge(filter: DeadLetterFilter = {}): number {
    if (filter.reason === undefined && filter.sid === undefined) return this.clear();
    let n = 0;
    for (const [id, e] of this.entries) {
      if (filter.reason !== undefined && e.reason !== filter.reason) continue;
      if (filter.sid !== undefined && e.sid !== filter.sid) continue;
      this.entries.delete(id);
      n++;
    }
    return n;
  }

  stats(): DeadLetterStats {
    return { size: this.entries.size, evicted: this.evicted, added: { ...this.added } };
  }

  /** Decimal digits of a safe integer (0 included: "before the first entry"). */
  parseId(text: string): number | undefined {
    if (!/^\d{1,16}$/.test(text)) return undefined;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }

  private key(id: DeadLetterId): number | undefined {
    if (typeof id === 'number') return Number.isSafeInteger(id) && id >= 0 ? id : undefined;
    return this.parseId(id);
  }
}
