/**
 * Bounded dead-letter queue: every message the server gives up on lands here with its
 * reason, so nothing is dropped silently. When full, the oldest entry is evicted and counted
 * in `evicted` (the queue itself is bounded too).
 */
export const DEAD_LETTER_REASONS = [
  'ttl',
  'overflow',
  'session_reaped',
  'session_closed',
  'upstream_failed',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export function isDeadLetterReason(value: string): value is DeadLetterReason {
  return (DEAD_LETTER_REASONS as readonly string[]).includes(value);
}

export interface DeadLetter {
  /** Queue-local id, increasing. */
  id: number;
  sid: string;
  /** Absent when the message never got a seq (drop-newest, reject, disconnect). */
  seq?: number;
  reason: DeadLetterReason;
  /** The message data as serialized JSON text. */
  data: string;
  /** When it was dead-lettered (ms since epoch). */
  at: number;
}

export interface DeadLetterQuery {
  reason?: DeadLetterReason;
  sid?: string;
  /** Only entries with id > after (paging cursor). */
  after?: number;
  limit?: number;
}

export class DeadLetterQueue {
  private readonly entries = new Map<number, DeadLetter>();
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

  constructor(private readonly max: number) {}

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
    const entry: DeadLetter =
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
  claim(id: number): boolean {
    if (this.claimed.has(id) || !this.entries.has(id)) return false;
    this.claimed.add(id);
    return true;
  }

  unclaim(id: number): void {
    this.claimed.delete(id);
  }

  get(id: number): DeadLetter | undefined {
    return this.entries.get(id);
  }

  delete(id: number): boolean {
    return this.entries.delete(id);
  }

  list(query: DeadLetterQuery = {}): DeadLetter[] {
    // 1001: a page of the API's maximum 1000 plus one, to tell whether there is a next page.
    const limit = Math.max(1, Math.min(query.limit ?? 100, 1001));
    const out: DeadLetter[] = [];
    for (const e of this.entries.values()) {
      if (query.after !== undefined && e.id <= query.after) continue;
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
  purge(filter: { reason?: DeadLetterReason; sid?: string } = {}): number {
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
}
