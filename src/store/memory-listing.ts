/**
 * The memory store's listings: live session ids a page at a time, the store's totals, and the
 * top sessions by depth or age. Each answers in bounded memory whatever the number of sessions.
 */
import { RwsError } from '../errors.js';
import type { OutboxTotals } from './session-outbox.js';
import type { SessionState } from './session-state.js';
import type { SessionSort, StoreStats } from './store.js';
import { topN } from './top-n.js';

/**
 * Pages of at most `pageSize` ids from a live iterator over the session Map: entries deleted
 * before they are reached are skipped, entries added are reached once (Map iteration order),
 * so every session live throughout appears exactly once. `check` runs before each page (a
 * store closed between two pages throws).
 */
export function* idPages(
  sessions: Map<string, SessionState>,
  pageSize: number,
  check: () => void,
): Generator<string[]> {
  assertLimit(pageSize);
  const ids = sessions.keys();
  for (;;) {
    check();
    const page: string[] = [];
    while (page.length < pageSize) {
      const next = ids.next();
      if (next.done === true) break;
      page.push(next.value);
    }
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
  }
}

export function storeStats(
  sessions: Map<string, SessionState>,
  totals: OutboxTotals,
  attached: number,
): StoreStats {
  const stats: StoreStats = {
    sessions: sessions.size,
    attached,
    detached: sessions.size - attached,
    messages: totals.messages,
    bytes: totals.bytes,
  };
  // One pass over the outboxes' head times (src/store/head-times.ts) while messages are
  // retained; without that index, a walk through the sessions.
  if (totals.messages > 0) {
    let oldest: number | undefined;
    if (totals.heads !== undefined) oldest = totals.heads.oldest();
    else {
      let min = Infinity;
      for (const s of sessions.values()) {
        const at = s.outbox.first()?.enqueuedAt;
        if (at !== undefined && at < min) min = at;
      }
      if (min !== Infinity) oldest = min;
    }
    if (oldest !== undefined) stats.oldestAt = oldest;
  }
  return stats;
}

/** The `limit` sessions ranked by `sort` in O(n log limit) (see `Store.topSessions`). */
export function topSessions(
  sessions: Iterable<SessionState>,
  limit: number,
  sort: SessionSort,
): SessionState[] {
  return sort === 'depth'
    ? topN(sessions, limit, (a, b) =>
        a.outbox.count !== b.outbox.count
          ? a.outbox.count > b.outbox.count
          : a.outbox.bytes > b.outbox.bytes,
      )
    : topN(withMessages(sessions), limit, (a, b) => oldestAt(a) < oldestAt(b));
}

function oldestAt(s: SessionState): number {
  return s.outbox.first()?.enqueuedAt ?? Infinity;
}

function* withMessages(sessions: Iterable<SessionState>): Generator<SessionState> {
  for (const s of sessions) if (s.outbox.count > 0) yield s;
}

/** A page size or list limit: an integer >= 1, else `bad_page_size`. */
export function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RwsError('bad_page_size', `a page size is an integer >= 1, got ${limit}`);
}
