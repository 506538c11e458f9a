/**
 * The memory implementation of the dead-letter port (src/outbox/dead-letter-store.ts): one
 * node's queue, bounded by a count and by bytes (`deadLetterBytes` of each entry's data).
 * When a new entry would pass either bound, the oldest entries are evicted first, each
 * counted in `evicted`.
 * It answers synchronously (the port's callers await, which takes a plain value too), so
 * code holding this class may read it directly: `list()` is an array, `size` a number.
 */
import { RwsError } from '../errors.js';
import {
  deadLetterBytes,
  DEFAULT_DEAD_LETTER_MAX_BYTES,
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
  /** Each entry's `deadLetterBytes`, by id (kept beside the entries: they are handed out). */
  private readonly sizes = new Map<number, number>();
  /** The sum of `sizes`. */
  private bytes = 0;
  private readonly claimed = new Set<number>();
  private nextId = 1;
  /** Entries pushed out because the queue was full (by count or by bytes). */
  evicted = 0;
  /** Entries ever added, by reason. */
  readonly added: Record<DeadLetterReason, number> = {
    ttl: 0,
    overflow: 0,
    session_reaped: 0,
    session_closed: 0,
    upstream_failed: 0,
  };

  /**
   * @param max the most entries kept (`dlqMax`); 0 keeps none (each add counts as evicted).
   * @param maxBytes the most bytes of data kept (`dlqMaxBytes`, default 64 MiB); an entry
   *   bigger than this by itself is not kept (counted as evicted).
   */
  constructor(
    private readonly max: number,
    private readonly maxBytes: number = DEFAULT_DEAD_LETTER_MAX_BYTES,
  ) {
    if (!Number.isSafeInteger(max) || max < 0)
      throw new RwsError(
        'bad_options',
        `the dead-letter bound must be an integer >= 0, got ${max}`,
      );
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
      throw new RwsError(
        'bad_options',
        `the dead-letter byte bound must be an integer >= 0, got ${maxBytes}`,
      );
  }

  get size(): number {
    return this.entries.size;
  }

  add(sid: string, reason: DeadLetterReason, data: string, at: number, seq?: number): void {
    this.added[reason]++;
    const size = deadLetterBytes(data);
    if (this.max <= 0 || size > this.maxBytes) {
      this.evicted++;
      return;
    }
    // Make room first, oldest first (at the latest, the queue is empty and the entry fits).
    while (
      this.entries.size > 0 &&
      (this.entries.size >= this.max || this.bytes + size > this.maxBytes)
    ) {
      this.remove(this.entries.keys().next().value as number);
      this.evicted++;
    }
    const id = this.nextId++;
    const entry: MemoryDeadLetter =
      seq === undefined ? { id, sid, reason, data, at } : { id, sid, seq, reason, data, at };
    this.entries.set(id, entry);
    this.sizes.set(id, size);
    this.bytes += size;
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
    return key !== undefined && this.remove(key);
  }

  /**
   * Oldest first, at most `pageLimit(query.limit)` (default 100, 1..1001), cut after the first
   * entry past `query.maxBytes` (see `DeadLetterQuery`). A string `after` must be one of this
   * store's ids as text; anything else is a `bad_cursor` RwsError.
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
    const maxBytes = query.maxBytes ?? Number.POSITIVE_INFINITY;
    const out: MemoryDeadLetter[] = [];
    let bytes = 0;
    for (const e of this.entries.values()) {
      if (after !== undefined && e.id <= after) continue;
      if (query.reason !== undefined && e.reason !== query.reason) continue;
      if (query.sid !== undefined && e.sid !== query.sid) continue;
      out.push(e);
      bytes += this.sizes.get(e.id)!;
      if (out.length >= limit || (out.length > 1 && bytes > maxBytes)) break;
    }
    return out;
  }

  clear(): number {
    const n = this.entries.size;
    this.entries.clear();
    this.sizes.clear();
    this.bytes = 0;
    return n;
  }

  /** Remove the entries matching `filter` (all when empty); returns how many. */
  purge(filter: DeadLetterFilter = {}): number {
    if (filter.reason === undefined && filter.sid === undefined) return this.clear();
    let n = 0;
    for (const [id, e] of this.entries) {
      if (filter.reason !== undefined && e.reason !== filter.reason) continue;
      if (filter.sid !== undefined && e.sid !== filter.sid) continue;
      this.remove(id);
      n++;
    }
    return n;
  }

  stats(): DeadLetterStats {
    return {
      size: this.entries.size,
      bytes: this.bytes,
      evicted: this.evicted,
      added: { ...this.added },
    };
  }

  /** Decimal digits of a safe integer (0 included: "before the first entry"). */
  parseId(text: string): number | undefined {
    if (!/^\d{1,16}$/.test(text)) return undefined;
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }

  /** Removes an entry and its bytes; false when there was none. */
  private remove(id: number): boolean {
    const size = this.sizes.get(id);
    if (size === undefined) return false;
    this.entries.delete(id);
    this.sizes.delete(id);
    this.bytes -= size;
    return true;
  }

  private key(id: DeadLetterId): number | undefined {
    if (typeof id === 'number') return Number.isSafeInteger(id) && id >= 0 ? id : undefined;
    return this.parseId(id);
  }
}
