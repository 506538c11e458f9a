import { describe, expect, it } from 'vitest';
import { isRwsError } from '../errors.js';
import { runDeadLetterStoreContract } from './dead-letter-store.contract.js';
import { isDeadLetterReason, type DeadLetterReason } from './dead-letter-store.js';
import { MemoryDeadLetterStore } from './dead-letters.js';
import { StreamIdDeadLetterStore } from './test-support/stream-dead-letter-store.js';

runDeadLetterStoreContract('memory', (max, maxBytes) => new MemoryDeadLetterStore(max, maxBytes));

const fill = (
  q: MemoryDeadLetterStore,
  n: number,
  sid = 's',
  reason: DeadLetterReason = 'ttl',
): void => {
  for (let i = 1; i <= n; i++) q.add(sid, reason, `"m${i}"`, 1000 + i, i);
};

describe('MemoryDeadLetterStore', () => {
  it('answers synchronously, with numeric ids from 1 that are never reused', () => {
    const q = new MemoryDeadLetterStore(10);
    q.add('s1', 'ttl', '"a"', 100, 4);
    q.add('s2', 'overflow', '"b"', 200);
    const [a, b] = q.list();
    expect(a).toEqual({ id: 1, sid: 's1', seq: 4, reason: 'ttl', data: '"a"', at: 100 });
    expect(b).toEqual({ id: 2, sid: 's2', reason: 'overflow', data: '"b"', at: 200 });
    expect(q.size).toBe(2);
    expect(q.get(2)).toEqual(b);
    expect(q.get('2')).toEqual(b);
    fill(q, 2);
    expect(q.clear()).toBe(4);
    q.add('s', 'ttl', 'x', 0, 9);
    expect(q.list()[0]!.id).toBe(5);
    expect(q.kind).toBe('memory');
  });

  it('with a bound of 0 keeps nothing but counts every entry as evicted', () => {
    const q = new MemoryDeadLetterStore(0);
    fill(q, 3, 's', 'overflow');
    expect(q.size).toBe(0);
    expect(q.list()).toEqual([]);
    expect(q.stats()).toMatchObject({ size: 0, evicted: 3, added: { overflow: 3 } });
  });

  it('refuses a bound that is not an integer >= 0, with a typed error', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      let caught: unknown;
      try {
        new MemoryDeadLetterStore(bad);
      } catch (error) {
        caught = error;
      }
      expect(isRwsError(caught) && caught.code, String(bad)).toBe('bad_options');
    }
  });

  it('reads ids as decimal digits only, 0 included (the cursor before the first entry)', () => {
    const q = new MemoryDeadLetterStore(10);
    fill(q, 2);
    expect(q.parseId('0')).toBe(0);
    expect(q.parseId('2')).toBe(2);
    expect(q.parseId('1700000000000-0')).toBeUndefined();
    expect(q.parseId('99999999999999999')).toBeUndefined();
    expect(q.list({ after: 0 }).map((e) => e.id)).toEqual([1, 2]);
    expect(q.list({ after: '1' }).map((e) => e.id)).toEqual([2]);
  });

  it('refuses a cursor that cannot be one of its ids with a typed error', () => {
    const q = new MemoryDeadLetterStore(10);
    let caught: unknown;
    try {
      q.list({ after: '1700000000000-0' });
    } catch (error) {
      caught = error;
    }
    expect(isRwsError(caught) && caught.code).toBe('bad_cursor');
    // Not an id of this store: no such entry, whatever the call.
    expect(q.get('x')).toBeUndefined();
    expect(q.delete(-1)).toBe(false);
    expect(q.claim('1-0')).toBe(false);
  });

  it('stats() is a snapshot: changing it changes nothing in the store', () => {
    const q = new MemoryDeadLetterStore(10);
    fill(q, 1);
    const s = q.stats();
    s.added.ttl = 99;
    expect(q.stats().added.ttl).toBe(1);
  });

  it('knows its reasons', () => {
    expect(isDeadLetterReason('ttl')).toBe(true);
    expect(isDeadLetterReason('nope')).toBe(false);
  });
});

// The contract does not assume numeric ids nor synchronous answers: the same suite passes on
// an async store with Redis-stream-like string ids.
runDeadLetterStoreContract(
  'async, stream ids (test stand-in)',
  (max, maxBytes) => new StreamIdDeadLetterStore(max, undefined, maxBytes),
);
