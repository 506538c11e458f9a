import { describe, expect, it } from 'vitest';
import { DeadLetterQueue, isDeadLetterReason, type DeadLetterReason } from './dead-letters.js';

const fill = (q: DeadLetterQueue, n: number, sid = 's', reason: DeadLetterReason = 'ttl'): void => {
  for (let i = 1; i <= n; i++) q.add(sid, reason, `"m${i}"`, 1000 + i, i);
};

describe('DeadLetterQueue', () => {
  it('keeps what it is given, with increasing ids, and omits seq when there is none', () => {
    const q = new DeadLetterQueue(10);
    q.add('s1', 'ttl', '"a"', 100, 4);
    q.add('s2', 'overflow', '"b"', 200);
    const [a, b] = q.list();
    expect(a).toEqual({ id: 1, sid: 's1', seq: 4, reason: 'ttl', data: '"a"', at: 100 });
    expect(b).toEqual({ id: 2, sid: 's2', reason: 'overflow', data: '"b"', at: 200 });
    expect(b).not.toHaveProperty('seq');
    expect(q.size).toBe(2);
    expect(q.get(2)).toEqual(b);
    expect(q.get(3)).toBeUndefined();
  });

  it('is bounded: the oldest entries are evicted and counted', () => {
    const q = new DeadLetterQueue(3);
    fill(q, 5);
    expect(q.size).toBe(3);
    expect(q.evicted).toBe(2);
    expect(q.list().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(q.get(1)).toBeUndefined();
    expect(q.added.ttl).toBe(5);
  });

  it('with a bound of 0 keeps nothing but counts every entry as evicted', () => {
    const q = new DeadLetterQueue(0);
    fill(q, 3, 's', 'overflow');
    expect(q.size).toBe(0);
    expect(q.list()).toEqual([]);
    expect(q.evicted).toBe(3);
    expect(q.added.overflow).toBe(3);
  });

  it('counts additions by reason', () => {
    const q = new DeadLetterQueue(100);
    q.add('s', 'ttl', '1', 0, 1);
    q.add('s', 'ttl', '2', 0, 2);
    q.add('s', 'overflow', '3', 0);
    q.add('s', 'session_reaped', '4', 0, 4);
    q.add('s', 'session_closed', '5', 0, 5);
    q.add('s', 'upstream_failed', '6', 0);
    expect(q.added).toEqual({
      ttl: 2,
      overflow: 1,
      session_reaped: 1,
      session_closed: 1,
      upstream_failed: 1,
    });
  });

  it('filters by reason and by sid, together', () => {
    const q = new DeadLetterQueue(100);
    q.add('a', 'ttl', '1', 0, 1);
    q.add('b', 'ttl', '2', 0, 1);
    q.add('a', 'overflow', '3', 0);
    q.add('a', 'ttl', '4', 0, 2);
    expect(q.list({ reason: 'ttl' }).map((e) => e.data)).toEqual(['1', '2', '4']);
    expect(q.list({ sid: 'a' }).map((e) => e.data)).toEqual(['1', '3', '4']);
    expect(q.list({ sid: 'a', reason: 'ttl' }).map((e) => e.data)).toEqual(['1', '4']);
    expect(q.list({ sid: 'c' })).toEqual([]);
  });

  it('pages with limit and an id cursor, without overlap or gaps', () => {
    const q = new DeadLetterQueue(100);
    fill(q, 25);
    const seen: number[] = [];
    let after: number | undefined;
    for (;;) {
      const page = q.list(after === undefined ? { limit: 10 } : { limit: 10, after });
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(10);
      seen.push(...page.map((e) => e.seq!));
      after = page[page.length - 1]!.id;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('pages through a filter', () => {
    const q = new DeadLetterQueue(100);
    for (let i = 1; i <= 10; i++) q.add(i % 2 === 0 ? 'even' : 'odd', 'ttl', `${i}`, 0, i);
    const first = q.list({ sid: 'even', limit: 2 });
    expect(first.map((e) => e.seq)).toEqual([2, 4]);
    const second = q.list({ sid: 'even', limit: 2, after: first[1]!.id });
    expect(second.map((e) => e.seq)).toEqual([6, 8]);
  });

  it('defaults to 100 entries per page, clamps the limit to 1..1001 (a 1000 page plus one to see a next page)', () => {
    const q = new DeadLetterQueue(2000);
    fill(q, 1500);
    expect(q.list()).toHaveLength(100);
    expect(q.list({ limit: 0 })).toHaveLength(1);
    expect(q.list({ limit: -5 })).toHaveLength(1);
    expect(q.list({ limit: 5000 })).toHaveLength(1001);
  });

  it('the cursor stays valid across evictions', () => {
    const q = new DeadLetterQueue(5);
    fill(q, 5);
    const page = q.list({ limit: 2 });
    fill(q, 3);
    // ids 1-3 were evicted; after id 2 the oldest left comes next.
    expect(q.list({ after: page[1]!.id }).map((e) => e.id)).toEqual([4, 5, 6, 7, 8]);
  });

  it('delete removes one entry; clear removes all and says how many', () => {
    const q = new DeadLetterQueue(10);
    fill(q, 4);
    expect(q.delete(2)).toBe(true);
    expect(q.delete(2)).toBe(false);
    expect(q.list().map((e) => e.id)).toEqual([1, 3, 4]);
    expect(q.clear()).toBe(3);
    expect(q.size).toBe(0);
    expect(q.list()).toEqual([]);
    q.add('s', 'ttl', 'x', 0, 9);
    expect(q.list()[0]!.id).toBe(5);
  });
});

describe('DeadLetterQueue.purge', () => {
  it('removes only the entries matching the filter, and everything without one', () => {
    const q = new DeadLetterQueue(100);
    q.add('a', 'ttl', '1', 0);
    q.add('a', 'overflow', '2', 0);
    q.add('b', 'ttl', '3', 0);
    expect(q.purge({ reason: 'ttl', sid: 'a' })).toBe(1);
    expect(q.list().map((e) => e.data)).toEqual(['2', '3']);
    expect(q.purge({ sid: 'b' })).toBe(1);
    expect(q.purge()).toBe(1);
    expect(q.size).toBe(0);
  });

  it('knows its reasons', () => {
    expect(isDeadLetterReason('ttl')).toBe(true);
    expect(isDeadLetterReason('nope')).toBe(false);
  });
});

describe('DeadLetterQueue.claim', () => {
  it('lets one replay at a time claim an entry, and only an existing one', () => {
    const q = new DeadLetterQueue(10);
    q.add('a', 'ttl', '1', 0);
    const [e] = q.list();
    expect(q.claim(e!.id)).toBe(true);
    expect(q.claim(e!.id)).toBe(false);
    q.unclaim(e!.id);
    expect(q.claim(e!.id)).toBe(true);
    expect(q.claim(999)).toBe(false);
  });
});
