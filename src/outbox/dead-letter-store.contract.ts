/**
 * The contract of the dead-letter port (src/outbox/dead-letter-store.ts): what every
 * implementation must do, whatever its backend. Run it from a test file with a factory:
 *
 *   runDeadLetterStoreContract('memory', (max, maxBytes) => new MemoryDeadLetterStore(max, maxBytes));
 *
 * Ids are compared only as the store gives them (never as numbers): a networked store's ids
 * (Redis stream ids) are strings. Every call is awaited, so a synchronous store fits too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  deadLetterBytes,
  type Awaitable,
  type DeadLetter,
  type DeadLetterReason,
  type DeadLetterStore,
} from './dead-letter-store.js';

export interface DeadLetterStoreContractOptions {
  /** Called after each test with the stores it made (close connections, delete keys). */
  cleanup?: (store: DeadLetterStore) => Awaitable<void>;
}

/**
 * @param factory a new, empty store keeping at most `max` entries and `maxBytes` bytes of data
 *   (`deadLetterBytes`; undefined: the store's default, at least 1 MiB).
 */
export function runDeadLetterStoreContract(
  name: string,
  factory: (max: number, maxBytes?: number) => Awaitable<DeadLetterStore>,
  options: DeadLetterStoreContractOptions = {},
): void {
  describe(`DeadLetterStore contract: ${name}`, () => {
    const made: DeadLetterStore[] = [];
    const store = async (max = 1000, maxBytes?: number): Promise<DeadLetterStore> => {
      const s = await factory(max, maxBytes);
      made.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of made.splice(0)) await options.cleanup?.(s);
    });

    /** Adds `n` entries with seq 1..n and data "m1".."mn". */
    const fill = async (
      s: DeadLetterStore,
      n: number,
      sid = 's',
      reason: DeadLetterReason = 'ttl',
    ): Promise<void> => {
      for (let i = 1; i <= n; i++) await s.add(sid, reason, `"m${i}"`, 1000 + i, i);
    };
    const seqs = (entries: readonly DeadLetter[]) => entries.map((e) => e.seq);
    const datas = (entries: readonly DeadLetter[]) => entries.map((e) => e.data);
    const lastId = (entries: readonly DeadLetter[]) => entries[entries.length - 1]!.id;

    it('lists what it was given, oldest first, and omits seq when there is none', async () => {
      const s = await store();
      await s.add('s1', 'ttl', '"a"', 100, 4);
      await s.add('s2', 'overflow', '{"b":1}', 200);
      await s.add('s1', 'upstream_failed', '3', 300);
      const list = await s.list();
      expect(list.map(({ id: _, ...e }) => e)).toEqual([
        { sid: 's1', seq: 4, reason: 'ttl', data: '"a"', at: 100 },
        { sid: 's2', reason: 'overflow', data: '{"b":1}', at: 200 },
        { sid: 's1', reason: 'upstream_failed', data: '3', at: 300 },
      ]);
      expect(list[1]).not.toHaveProperty('seq');
      expect(new Set(list.map((e) => e.id)).size).toBe(3);
    });

    it('gets an entry by its id, and by its id read back from text (URLs, cursors)', async () => {
      const s = await store();
      await fill(s, 3);
      const [, second] = await s.list();
      expect(await s.get(second!.id)).toEqual(second);
      const parsed = s.parseId(String(second!.id));
      expect(parsed).toBe(second!.id);
      expect(await s.get(parsed!)).toEqual(second);
      for (const bad of ['', 'abc', '1/2', '../1', ' 1', '1e3', '-1', 'x'.repeat(200)])
        expect(s.parseId(bad), bad).toBeUndefined();
    });

    it('filters by reason, by sid, and by both', async () => {
      const s = await store();
      await s.add('a', 'ttl', '1', 0, 1);
      await s.add('b', 'ttl', '2', 0, 1);
      await s.add('a', 'overflow', '3', 0);
      await s.add('a', 'ttl', '4', 0, 2);
      expect(datas(await s.list({ reason: 'ttl' }))).toEqual(['1', '2', '4']);
      expect(datas(await s.list({ sid: 'a' }))).toEqual(['1', '3', '4']);
      expect(datas(await s.list({ sid: 'a', reason: 'ttl' }))).toEqual(['1', '4']);
      expect(await s.list({ sid: 'c' })).toEqual([]);
      expect(await s.list({ reason: 'session_closed' })).toEqual([]);
    });

    it('pages with limit and the last id as cursor, without overlap or gaps', async () => {
      const s = await store();
      await fill(s, 25);
      const seen: Array<number | undefined> = [];
      let page = await s.list({ limit: 10 });
      // Bounded: a store that ignores the cursor fails here instead of looping for good.
      for (let pages = 0; page.length > 0 && pages < 5; pages++) {
        expect(page.length).toBeLessThanOrEqual(10);
        seen.push(...seqs(page));
        page = await s.list({ limit: 10, after: lastId(page) });
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('pages through a filter', async () => {
      const s = await store();
      for (let i = 1; i <= 10; i++) await s.add(i % 2 === 0 ? 'even' : 'odd', 'ttl', `${i}`, 0, i);
      const first = await s.list({ sid: 'even', limit: 2 });
      expect(seqs(first)).toEqual([2, 4]);
      const second = await s.list({ sid: 'even', limit: 2, after: lastId(first) });
      expect(seqs(second)).toEqual([6, 8]);
      expect(seqs(await s.list({ sid: 'even', after: lastId(second) }))).toEqual([10]);
    });

    it('keeps a cursor valid when the entry it names is gone', async () => {
      const s = await store();
      await fill(s, 5);
      const page = await s.list({ limit: 2 });
      expect(await s.delete(lastId(page))).toBe(true);
      expect(seqs(await s.list({ after: lastId(page) }))).toEqual([3, 4, 5]);
    });

    it('pages 100 entries by default and clamps the limit to 1..1001', async () => {
      const s = await store(2000);
      await fill(s, 1005);
      expect(await s.list()).toHaveLength(100);
      expect(await s.list({ limit: 0 })).toHaveLength(1);
      expect(await s.list({ limit: -5 })).toHaveLength(1);
      expect(await s.list({ limit: 1001 })).toHaveLength(1001);
      expect(await s.list({ limit: 5000 })).toHaveLength(1001);
    });

    it('is bounded: the oldest entries are evicted and counted', async () => {
      const s = await store(3);
      await fill(s, 5);
      const list = await s.list();
      expect(seqs(list)).toEqual([3, 4, 5]);
      const stats = await s.stats();
      expect(stats.size).toBe(3);
      expect(stats.evicted).toBe(2);
      expect(stats.added.ttl).toBe(5);
      // The evicted entries are gone for every read, and a cursor from before still pages on.
      const all = await s.list({ limit: 1 });
      expect(all[0]!.seq).toBe(3);
      await fill(s, 2, 'later');
      expect((await s.stats()).evicted).toBe(4);
      expect(seqs(await s.list({ after: lastId(all) }))).toEqual([5, 1, 2]);
    });

    it('deletes one entry, once', async () => {
      const s = await store();
      await fill(s, 3);
      const [, second] = await s.list();
      expect(await s.delete(second!.id)).toBe(true);
      expect(await s.delete(second!.id)).toBe(false);
      expect(await s.get(second!.id)).toBeUndefined();
      expect(seqs(await s.list())).toEqual([1, 3]);
      expect((await s.stats()).size).toBe(2);
    });

    it('purges only what matches the filter, and everything without one', async () => {
      const s = await store();
      await s.add('a', 'ttl', '1', 0);
      await s.add('a', 'overflow', '2', 0);
      await s.add('b', 'ttl', '3', 0);
      await s.add('b', 'overflow', '4', 0);
      expect(await s.purge({ reason: 'ttl', sid: 'a' })).toBe(1);
      expect(datas(await s.list())).toEqual(['2', '3', '4']);
      expect(await s.purge({ reason: 'session_closed' })).toBe(0);
      expect(await s.purge({ sid: 'b' })).toBe(2);
      expect(datas(await s.list())).toEqual(['2']);
      expect(await s.purge({ reason: 'overflow' })).toBe(1);
      await s.add('c', 'ttl', '5', 0);
      await s.add('d', 'overflow', '6', 0);
      expect(await s.purge()).toBe(2);
      expect(await s.list()).toEqual([]);
      expect((await s.stats()).size).toBe(0);
    });

    it('lets one replay at a time claim an entry, and only an existing one', async () => {
      const s = await store();
      await fill(s, 2);
      const [first, second] = await s.list();
      expect(await s.claim(first!.id)).toBe(true);
      expect(await s.claim(first!.id)).toBe(false);
      // Another entry is not held by the first one's claim.
      expect(await s.claim(second!.id)).toBe(true);
      await s.unclaim(first!.id);
      expect(await s.claim(first!.id)).toBe(true);
      await s.unclaim(first!.id);
      expect(await s.delete(first!.id)).toBe(true);
      expect(await s.claim(first!.id)).toBe(false);
      // A claim is a mark, not a removal: the entry is still listed.
      expect(seqs(await s.list())).toEqual([2]);
    });

    it('counts additions by reason, evicted ones included, and reports its size', async () => {
      const s = await store(2);
      expect(await s.stats()).toEqual({
        size: 0,
        bytes: 0,
        evicted: 0,
        added: { ttl: 0, overflow: 0, session_reaped: 0, session_closed: 0, upstream_failed: 0 },
      });
      await s.add('s', 'ttl', '1', 0, 1);
      await s.add('s', 'ttl', '2', 0, 2);
      await s.add('s', 'overflow', '3', 0);
      await s.add('s', 'session_reaped', '4', 0, 4);
      await s.add('s', 'session_closed', '5', 0, 5);
      await s.add('s', 'upstream_failed', '6', 0);
      expect(await s.stats()).toEqual({
        size: 2,
        bytes: 2,
        evicted: 4,
        added: { ttl: 2, overflow: 1, session_reaped: 1, session_closed: 1, upstream_failed: 1 },
      });
      // A purge or delete is not an eviction.
      await s.purge();
      expect(await s.stats()).toMatchObject({ size: 0, bytes: 0, evicted: 4 });
    });

    /** Data of exactly `n` bytes in UTF-8 (a JSON string; "é" is two bytes). */
    const blob = (n: number, fill = 'x'): string => `"${fill.repeat(n - 2)}"`;
    const bytesOf = (entries: readonly DeadLetter[]) =>
      entries.reduce((sum, e) => sum + deadLetterBytes(e.data), 0);

    it('is bounded in bytes too: the oldest entries are evicted first, each counted', async () => {
      const s = await store(1000, 1000);
      for (let i = 1; i <= 4; i++) await s.add('s', 'ttl', blob(300), 0, i);
      // 4 × 300 > 1000: the first went to make room for the fourth.
      expect(seqs(await s.list())).toEqual([2, 3, 4]);
      expect(await s.stats()).toMatchObject({ size: 3, bytes: 900, evicted: 1 });
      // A big one evicts as many of the oldest as it needs, and no more.
      await s.add('s', 'overflow', blob(700), 0, 5);
      expect(seqs(await s.list())).toEqual([4, 5]);
      expect(await s.stats()).toMatchObject({ size: 2, bytes: 1000, evicted: 3 });
      // Bytes are UTF-8 bytes of the data, not UTF-16 code units.
      await s.add('s', 'ttl', `"${'é'.repeat(149)}"`, 0, 6);
      expect(deadLetterBytes(`"${'é'.repeat(149)}"`)).toBe(300);
      expect(seqs(await s.list())).toEqual([5, 6]);
      expect(await s.stats()).toMatchObject({ size: 2, bytes: 1000, evicted: 4 });
      // One bigger than the bound by itself is not kept; the others stay.
      await s.add('s', 'ttl', blob(1001), 0, 7);
      expect(seqs(await s.list())).toEqual([5, 6]);
      expect(await s.stats()).toMatchObject({
        size: 2,
        bytes: 1000,
        evicted: 5,
        added: { ttl: 6, overflow: 1 },
      });
      // The count bound still holds beside the byte one.
      const counted = await store(2, 1000);
      for (let i = 1; i <= 3; i++) await counted.add('s', 'ttl', blob(10), 0, i);
      expect(seqs(await counted.list())).toEqual([2, 3]);
      expect(await counted.stats()).toMatchObject({ size: 2, bytes: 20, evicted: 1 });
    });

    it('keeps its bytes figure exact through add, delete, purge and eviction', async () => {
      const s = await store(5, 10_000);
      const check = async (): Promise<void> => {
        const all = await s.list({ limit: 1001 });
        expect((await s.stats()).bytes).toBe(bytesOf(all));
      };
      await s.add('a', 'ttl', blob(100), 0, 1);
      await s.add('b', 'overflow', blob(200), 0);
      await s.add('a', 'session_closed', '{"k":"ü"}', 0, 2);
      await check();
      expect((await s.stats()).bytes).toBe(100 + 200 + 10);
      const [first] = await s.list();
      expect(await s.delete(first!.id)).toBe(true);
      expect(await s.delete(first!.id)).toBe(false);
      await check();
      expect((await s.stats()).bytes).toBe(210);
      expect(await s.purge({ sid: 'b' })).toBe(1);
      await check();
      expect((await s.stats()).bytes).toBe(10);
      for (let i = 0; i < 7; i++) await s.add('c', 'ttl', blob(50 + i), 0, i);
      await check();
      expect(await s.stats()).toMatchObject({ size: 5, evicted: 3 });
      expect(await s.purge()).toBe(5);
      expect(await s.stats()).toMatchObject({ size: 0, bytes: 0 });
      await s.add('d', 'ttl', blob(42), 0);
      expect(await s.stats()).toMatchObject({ size: 1, bytes: 42 });
    });

    it('cuts a list after the first entry past maxBytes, and always gives the first one', async () => {
      const s = await store(1000, 100_000);
      for (let i = 1; i <= 6; i++)
        await s.add(i % 2 === 0 ? 'even' : 'odd', 'ttl', blob(400), 0, i);
      // 400 + 400 fit 1000; the third passes it and is the one entry past the page.
      expect(seqs(await s.list({ maxBytes: 1000 }))).toEqual([1, 2, 3]);
      expect(seqs(await s.list({ maxBytes: 800 }))).toEqual([1, 2, 3]);
      expect(seqs(await s.list({ maxBytes: 799 }))).toEqual([1, 2]);
      // The first entry fits however big: a page of one, and the next one to say there is more.
      expect(seqs(await s.list({ maxBytes: 10 }))).toEqual([1, 2]);
      expect(
        seqs(await s.list({ maxBytes: 0, after: lastId(await s.list({ limit: 5 })) })),
      ).toEqual([6]);
      // With a filter, a cursor and a limit.
      expect(seqs(await s.list({ sid: 'even', maxBytes: 500 }))).toEqual([2, 4]);
      const [, second] = await s.list();
      expect(seqs(await s.list({ sid: 'odd', after: second!.id, maxBytes: 10_000 }))).toEqual([
        3, 5,
      ]);
      expect(seqs(await s.list({ limit: 2, maxBytes: 10_000 }))).toEqual([1, 2]);
      expect(seqs(await s.list({ maxBytes: 10_000 }))).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });
}
