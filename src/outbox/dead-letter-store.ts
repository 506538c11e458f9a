/**
 * The dead-letter port: where every message the server gives up on is kept, with its reason,
 * so nothing is dropped silently. The outbox writes to it on its hot path (`add`, never
 * awaited, through `DeadLetterWriter`); the admin API (src/server/admin-routes.ts) and the
 * metrics (src/server/observability.ts) read it, always awaiting. The memory implementation
 * (`MemoryDeadLetterStore`, src/outbox/dead-letters.ts) answers synchronously; a networked
 * one (a shared Redis stream, so that every node's admin API sees every dead letter) answers
 * with promises: callers `await` every answer, which takes both. Its behaviour is pinned by
 * the contract suite in src/outbox/dead-letter-store.contract.ts.
 */
import type { CoreEvents } from '../core-events.js';
import type { Emitter } from '../events.js';

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

/**
 * A dead letter's id, unique in its store and increasing in insertion order: a number in the
 * memory store, a string where the backend has its own (a Redis stream id,
 * `"1700000000000-0"`). The HTTP API shows it as the store gives it and reads it back from
 * a path or cursor with `DeadLetterStore.parseId`.
 */
export type DeadLetterId = number | string;

export interface DeadLetter {
  id: DeadLetterId;
  sid: string;
  /** Absent when the message never got a seq (drop-newest, reject, disconnect). */
  seq?: number;
  reason: DeadLetterReason;
  /** The message data as serialized JSON text. */
  data: string;
  /** When it was dead-lettered (ms since epoch). */
  at: number;
}

export interface DeadLetterFilter {
  reason?: DeadLetterReason;
  sid?: string;
}

export interface DeadLetterQuery extends DeadLetterFilter {
  /**
   * The paging cursor: only entries after this id (the id of the last entry of the previous
   * page). It stays valid when that entry is gone (deleted, replayed, evicted).
   */
  after?: DeadLetterId;
  /** At most this many entries: default 100, clamped to 1..1001 (a page of the API's
   *  maximum 1000 plus one, to tell whether there is a next page). */
  limit?: number;
  /**
   * A byte budget (`deadLetterBytes` of each entry's data; default none): the answer stops
   * after the first entry that does not fit `pageByBytes(entries, maxBytes)`, so it holds the
   * entries that fit plus at most one more (which tells the caller there is more). The first
   * entry always fits, however big: a page never stalls.
   */
  maxBytes?: number;
}

export interface DeadLetterStats {
  /** Entries held now. */
  size: number;
  /** Bytes held now: the sum of `deadLetterBytes(data)` over the entries held. */
  bytes: number;
  /**
   * Entries pushed out because the store was full, by count or by bytes (oldest first), since
   * it started; an entry too big for the byte bound by itself is counted here too.
   */
  evicted: number;
  /** Entries ever added, by reason (evicted ones included). */
  added: Record<DeadLetterReason, number>;
}

/** Default byte bound of a dead-letter store (`dlqMaxBytes`): 64 MiB. */
export const DEFAULT_DEAD_LETTER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * What a dead letter weighs against the byte bound (`dlqMaxBytes`), `DeadLetterStats.bytes`
 * and a page's byte budget: its data's length in UTF-8 (what a Redis store holds and what a
 * page carries); the few fixed fields beside it are bounded by the count bound.
 */
export function deadLetterBytes(data: string): number {
  return Buffer.byteLength(data, 'utf8');
}

/**
 * How many of `entries` (in order) make a page of at most `maxBytes` bytes of data: an entry
 * fits while the data taken with it stays within `maxBytes`; the first always fits, however
 * big, so that paging never stalls on it.
 */
export function pageByBytes(entries: readonly DeadLetter[], maxBytes: number): number {
  let bytes = 0;
  for (let i = 0; i < entries.length; i++) {
    bytes += deadLetterBytes(entries[i]!.data);
    if (i > 0 && bytes > maxBytes) return i;
  }
  return entries.length;
}

/** An answer now (the memory store) or later (a networked store). */
export type Awaitable<T> = T | Promise<T>;

/** Default and bounds of `DeadLetterQuery.limit`. */
export const DEAD_LETTER_PAGE = { default: 100, max: 1001 } as const;

/** The limit a store applies to a query: default 100, clamped to 1..1001. */
export function pageLimit(limit: number | undefined): number {
  const n = limit === undefined || Number.isNaN(limit) ? DEAD_LETTER_PAGE.default : limit;
  return Math.max(1, Math.min(Math.floor(n), DEAD_LETTER_PAGE.max));
}

export interface DeadLetterStore {
  /** `memory`, `redis` ... (logs, /api/stats). */
  readonly kind: string;
  /**
   * Keep a dead letter. Called on the send path and never awaited there (the outbox goes
   * through `DeadLetterWriter`): an implementation returns at once, and a failure (thrown or
   * rejected) is reported as an `error` event with `where: 'dead-letter'`. Bounded by a count
   * and by bytes (`deadLetterBytes`): when the new entry would pass either bound the oldest
   * entries are evicted first, each counted in `stats().evicted`. An entry bigger than the byte
   * bound by itself is not kept (the others stay) and is counted as evicted.
   */
  add(
    sid: string,
    reason: DeadLetterReason,
    data: string,
    at: number,
    seq?: number,
  ): Awaitable<void>;
  /**
   * The entries matching `query`, oldest first, at most `pageLimit(query.limit)` of them, and
   * with `query.maxBytes` cut after the first entry that does not fit that budget. Fewer than
   * the limit, none of them past the budget, means there are no more: page on with `after` =
   * the last id.
   */
  list(query?: DeadLetterQuery): Awaitable<readonly DeadLetter[]>;
  get(id: DeadLetterId): Awaitable<DeadLetter | undefined>;
  /** False when there was no such entry. */
  delete(id: DeadLetterId): Awaitable<boolean>;
  /** Remove the entries matching `filter` (every entry when it is empty); returns how many. */
  purge(filter?: DeadLetterFilter): Awaitable<number>;
  /**
   * Mark an entry as being replayed; false when it already is or does not exist (a second
   * replay racing the first would send it twice). `unclaim` when the replay ends, whatever
   * its outcome. A networked store bounds a claim's life so that a node dying mid-replay
   * does not pin the entry for good.
   */
  claim(id: DeadLetterId): Awaitable<boolean>;
  unclaim(id: DeadLetterId): Awaitable<void>;
  stats(): Awaitable<DeadLetterStats>;
  /**
   * An id as written in a URL or cursor (`/api/dlq/{id}`, `?after=`) back to this store's
   * id; undefined when it cannot be one of its ids. `parseId(String(id))` gives `id` back.
   */
  parseId(text: string): DeadLetterId | undefined;
}

/** What the outbox needs of a store: its `add`. */
export type DeadLetterSink = Pick<DeadLetterStore, 'add'>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * The outbox's way into the store: `add` never throws and never leaves a rejection
 * unhandled, whatever the store does; each failure is counted in `failures` and reported as
 * an `error` event with `where: 'dead-letter'` (counted by the metrics in
 * `rws_background_errors_total{where="dead-letter"}` and logged), never silent.
 */
export class DeadLetterWriter {
  /** Adds that threw or rejected so far. */
  failures = 0;

  constructor(
    private readonly sink: DeadLetterSink,
    private readonly events: Emitter<CoreEvents>,
  ) {}

  add(sid: string, reason: DeadLetterReason, data: string, at: number, seq?: number): void {
    let pending: unknown;
    try {
      pending = this.sink.add(sid, reason, data, at, seq);
    } catch (error) {
      this.failed(error);
      return;
    }
    if (isThenable(pending)) pending.then(undefined, (error: unknown) => this.failed(error));
  }

  private failed(error: unknown): void {
    this.failures++;
    this.events.emit('error', { where: 'dead-letter', error });
  }
}
