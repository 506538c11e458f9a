import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { CoreEvents } from '../core-events.js';
import { isRwsError } from '../errors.js';
import { Emitter } from '../events.js';
import { createRedisClient } from '../store/redis/redis-client.js';
import {
  deletePrefix,
  freePort,
  freshPrefix,
  PrivateRedis,
  requireRedis,
  TEST_REDIS_URL,
} from '../store/redis/redis-test-support.js';
import { runDeadLetterStoreContract } from './dead-letter-store.contract.js';
import { DeadLetterWriter, type DeadLetterStore } from './dead-letter-store.js';
import { RedisDeadLetterStore, SCAN_CHUNK } from './redis-dead-letters.js';

const hasRedis = await requireRedis('redis dead letters');

/** A connection with the project's settings, once it is ready (no offline queue). */
async function connect(url: string): Promise<Redis> {
  const r = createRedisClient(url, { connectionName: 'rws:test:dlq' });
  await once(r, 'ready');
  // Connection errors reach the commands as rejections; the event only needs a listener.
  r.on('error', () => {});
  return r;
}

const redis = hasRedis ? await connect(TEST_REDIS_URL) : undefined;
afterAll(async () => {
  await redis?.quit();
});

/** The prefix of each store made here, deleted after its test. */
const prefixes = new Map<DeadLetterStore, string>();
const make = (
  max: number,
  prefix = freshPrefix(),
  claimTtlMs?: number,
  maxBytes?: number,
): RedisDeadLetterStore => {
  const s = new RedisDeadLetterStore({
    redis: redis!,
    prefix,
    max,
    ...(claimTtlMs === undefined ? {} : { claimTtlMs }),
    ...(maxBytes === undefined ? {} : { maxBytes }),
  });
  prefixes.set(s, prefix);
  return s;
};
const cleanup = async (s: DeadLetterStore): Promise<void> => {
  await (s as RedisDeadLetterStore).close();
  const prefix = prefixes.get(s);
  prefixes.delete(s);
  if (prefix !== undefined && ![...prefixes.values()].includes(prefix))
    await deletePrefix(TEST_REDIS_URL, prefix);
};

const codeOf = async (p: unknown): Promise<unknown> => {
  try {
    await p;
  } catch (error) {
    return isRwsError(error) ? error.code : error;
  }
  return 'resolved';
};

describe.skipIf(!hasRedis)('redis dead letters', () => {
  runDeadLetterStoreContract(
    'redis',
    (max, maxBytes) => make(max, undefined, undefined, maxBytes),
    {
      cleanup,
    },
  );

  describe('RedisDeadLetterStore', () => {
    afterEach(async () => {
      for (const s of [...prefixes.keys()]) await cleanup(s);
    });

    it('ids are the stream entry ids, and the entry holds what was given (at from the caller)', async () => {
      const s = make(10);
      await s.add('s1', 'ttl', '{"a":1}', 42, 7);
      await s.add('s2', 'overflow', '"b"', 43);
      const raw = (await redis!.xrange(s.streamKey, '-', '+')) as Array<[string, string[]]>;
      const list = await s.list();
      expect(list.map((e) => e.id)).toEqual(raw.map(([id]) => id));
      for (const e of list) {
        expect(e.id).toMatch(/^\d{13}-\d+$/);
        expect(s.parseId(String(e.id))).toBe(e.id);
      }
      expect(raw[0]![1]).toEqual([
        'sid',
        's1',
        'reason',
        'ttl',
        'at',
        '42',
        'seq',
        '7',
        'data',
        '{"a":1}',
      ]);
      expect(raw[1]![1]).toEqual(['sid', 's2', 'reason', 'overflow', 'at', '43', 'data', '"b"']);
      expect(list[0]!.at).toBe(42);
      // Ids only of the stream kind: numbers and other texts are no entry of it.
      expect(await s.get(1)).toBeUndefined();
      expect(await s.delete(1)).toBe(false);
      expect(await s.claim(1)).toBe(false);
      expect(s.parseId('01-0')).toBeUndefined();
      expect(s.parseId('18446744073709551616-0')).toBeUndefined();
      expect(s.parseId('18446744073709551615-0')).toBe('18446744073709551615-0');
      const last = '18446744073709551615-18446744073709551615';
      expect(await s.list({ after: last })).toEqual([]);
      expect(await s.list({ after: last, sid: 's1' })).toEqual([]);
      expect(await codeOf(s.list({ after: 5 }))).toBe('bad_cursor');
      expect(await codeOf(s.list({ after: 'nope', sid: 's1' }))).toBe('bad_cursor');
    });

    it('trims exactly at MAXLEN and counts every eviction, concurrent adds included', async () => {
      const s = make(10);
      // Not awaited one by one: 50 scripts in flight on one connection.
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.add('s', 'ttl', `${i}`, i, i)));
      expect(await redis!.xlen(s.streamKey)).toBe(10);
      expect(await s.stats()).toMatchObject({ size: 10, evicted: 40, added: { ttl: 50 } });
      expect((await s.list()).map((e) => e.data)).toEqual(
        Array.from({ length: 10 }, (_, i) => `${40 + i}`),
      );
    });

    it('counts every entry one add trims, when a node with a smaller bound joins', async () => {
      const prefix = freshPrefix();
      const big = make(10, prefix);
      const small = make(3, prefix);
      for (let i = 0; i < 10; i++) await big.add('s', 'ttl', `${i}`, 0, i);
      await small.add('s', 'overflow', '"x"', 0);
      expect(await redis!.xlen(small.streamKey)).toBe(3);
      expect(await big.stats()).toMatchObject({ size: 3, evicted: 8 });
    });

    it('ids never go back, a purge of everything included (the cursor before it stays valid)', async () => {
      const s = make(10);
      // The stream's newest id is ahead of the clock (as after a failover to a skewed host).
      const ahead = '9999999999999-5';
      await redis!.xadd(s.streamKey, ahead, 'sid', 's', 'reason', 'ttl', 'at', '0', 'data', '1');
      expect((await s.get(ahead))?.data).toBe('1');
      expect(await s.purge()).toBe(1);
      await s.add('s', 'ttl', '2', 0);
      const [next] = await s.list({ after: ahead });
      expect(next?.id).toBe('9999999999999-6');
    });

    it('with a bound of 0 keeps nothing but counts every add as evicted', async () => {
      const s = make(0);
      for (let i = 0; i < 3; i++) await s.add('s', 'overflow', '1', 0);
      expect(await redis!.exists(s.streamKey)).toBe(0);
      expect(await s.stats()).toMatchObject({ size: 0, evicted: 3, added: { overflow: 3 } });
    });

    it('two stores on one prefix (two nodes) share entries, counts and claims', async () => {
      const prefix = freshPrefix();
      const a = make(100, prefix);
      const b = make(100, prefix);
      await a.add('s1', 'ttl', '"from a"', 1, 1);
      await b.add('s2', 'overflow', '"from b"', 2);
      expect((await a.list()).map((e) => e.data)).toEqual(['"from a"', '"from b"']);
      expect(await b.list()).toEqual(await a.list());
      expect(await b.stats()).toEqual(await a.stats());
      expect((await a.stats()).added).toMatchObject({ ttl: 1, overflow: 1 });
      const [first] = await b.list();
      // A replay on node a holds the entry against node b, and b cannot release a's claim.
      expect(await a.claim(first!.id)).toBe(true);
      expect(await b.claim(first!.id)).toBe(false);
      await b.unclaim(first!.id);
      expect(await b.claim(first!.id)).toBe(false);
      await a.unclaim(first!.id);
      expect(await b.claim(first!.id)).toBe(true);
      expect(await a.delete(first!.id)).toBe(true);
      expect(await b.get(first!.id)).toBeUndefined();
    });

    it('a claim expires by itself (a node that died mid-replay does not pin the entry)', async () => {
      const prefix = freshPrefix();
      const a = make(10, prefix, 50);
      const b = make(10, prefix, 50);
      await a.add('s', 'ttl', '1', 0);
      const [e] = await a.list();
      expect(await a.claim(e!.id)).toBe(true);
      expect(await b.claim(e!.id)).toBe(false);
      const ttl = await redis!.pttl(`${prefix}:{d}:dlq:claim:${String(e!.id)}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(50);
      await new Promise((r) => setTimeout(r, 80));
      expect(await b.claim(e!.id)).toBe(true);
    });

    it('trims exactly by bytes and counts every eviction, concurrent adds included', async () => {
      const s = make(1000, freshPrefix(), undefined, 10_000);
      // 50 adds of 1000 bytes in flight at once: the store keeps the newest 10.
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => s.add('s', 'ttl', `"${'x'.repeat(998)}"`, i, i)),
      );
      expect(await redis!.xlen(s.streamKey)).toBe(10);
      expect(await s.stats()).toMatchObject({ size: 10, bytes: 10_000, evicted: 40 });
      expect((await s.list()).map((e) => e.seq)).toEqual(
        Array.from({ length: 10 }, (_, i) => 40 + i),
      );
      expect(await redis!.hget(s.statsKey, 'bytes')).toBe('10000');
    });

    it('counts every entry one add evicts by bytes, when a node with a smaller bound joins', async () => {
      const prefix = freshPrefix();
      const big = make(100, prefix, undefined, 100_000);
      const small = make(100, prefix, undefined, 250);
      for (let i = 0; i < 200; i++) await big.add('s', 'ttl', `"${'y'.repeat(98)}"`, 0, i);
      expect(await big.stats()).toMatchObject({ size: 100, bytes: 10_000, evicted: 100 });
      // 100 entries of 100 bytes go (read 1, 2, 4 … at a time) to make room for these 200.
      await small.add('s', 'overflow', `"${'z'.repeat(198)}"`, 0);
      expect(await big.stats()).toMatchObject({ size: 1, bytes: 200, evicted: 200 });
      expect((await big.list()).map((e) => e.sid)).toEqual(['s']);
    });

    it('sets its bytes figure back to 0 when it finds the stream empty (deleted by hand)', async () => {
      const s = make(10);
      await s.add('s', 'ttl', '"abc"', 0);
      expect((await s.stats()).bytes).toBe(5);
      await redis!.del(s.streamKey);
      expect(await s.stats()).toMatchObject({ size: 0, bytes: 0 });
      await s.add('s', 'ttl', '"de"', 0);
      expect(await s.stats()).toMatchObject({ size: 1, bytes: 4 });
    });

    it('a byte-budgeted list pages past one scan chunk, the budget carried across chunks', async () => {
      const s = make(5000);
      const n = SCAN_CHUNK * 2 + 500;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          s.add(
            i % 1000 === 999 || i === 2400 ? 'rare' : 'common',
            'ttl',
            `"${'r'.repeat(98)}"`,
            0,
            i,
          ),
        ),
      );
      // The rare entries are 999, 1999 and 2400, one per chunk: what the first chunk took
      // (one entry, 100 bytes) counts in the second, which stops after 1999 (200 > 150).
      const rare = (maxBytes: number) => s.list({ sid: 'rare', maxBytes });
      expect((await rare(150)).map((e) => e.seq)).toEqual([999, 1999]);
      expect((await rare(200)).map((e) => e.seq)).toEqual([999, 1999, 2400]);
      expect((await rare(0)).map((e) => e.seq)).toEqual([999, 1999]);
      // 100 bytes each: 150 fit in 15 000 bytes (the 151st is the one past the budget), in
      // one call or across chunks the same.
      const unfiltered = await s.list({ limit: 1001, maxBytes: 15_000 });
      expect(unfiltered.map((e) => e.seq)).toEqual(Array.from({ length: 151 }, (_, i) => i));
      const common = await s.list({ sid: 'common', limit: 1001, maxBytes: 150_000 });
      expect(common).toHaveLength(1001);
      const later = await s.list({ sid: 'common', after: common[990]!.id, maxBytes: 2000 });
      // 991 … 998, then 1000 … 1012: 20 fit in 2000 bytes, and one more.
      expect(later.map((e) => e.seq)).toEqual([
        ...Array.from({ length: 8 }, (_, i) => 991 + i),
        ...Array.from({ length: 13 }, (_, i) => 1000 + i),
      ]);
    });

    it('filters and purges past one scan chunk', async () => {
      const s = make(5000);
      const n = SCAN_CHUNK * 2 + 500;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          s.add(i === 10 || i === n - 5 || i === n - 1 ? 'rare' : 'common', 'ttl', `${i}`, 0, i),
        ),
      );
      const rare = await s.list({ sid: 'rare' });
      expect(rare.map((e) => e.seq)).toEqual([10, n - 5, n - 1]);
      const page = await s.list({ sid: 'rare', limit: 1, after: rare[0]!.id });
      expect(page.map((e) => e.seq)).toEqual([n - 5]);
      expect(await s.list({ sid: 'none' })).toEqual([]);
      expect(await s.purge({ sid: 'rare' })).toBe(3);
      expect(await s.list({ sid: 'rare' })).toEqual([]);
      expect(await s.purge()).toBe(n - 3);
      expect((await s.stats()).size).toBe(0);
    });

    it('add sends its command at call time, not a turn later', () => {
      const s = make(10);
      const evalsha = vi.spyOn(redis!, 'evalsha');
      try {
        const pending = s.add('s', 'ttl', '1', 0);
        expect(evalsha).toHaveBeenCalledTimes(1);
        return pending;
      } finally {
        evalsha.mockRestore();
      }
    });

    it('a closed store rejects every call with store_closed and leaves the connection open', async () => {
      const s = make(10);
      await s.add('s', 'ttl', '1', 0);
      const [e] = await s.list();
      await s.close();
      let added: unknown;
      expect(() => {
        added = s.add('s', 'ttl', '2', 0);
      }).not.toThrow();
      expect(await codeOf(added)).toBe('store_closed');
      for (const call of [
        () => s.list(),
        () => s.get(e!.id),
        () => s.delete(e!.id),
        () => s.purge(),
        () => s.claim(e!.id),
        () => s.unclaim(e!.id),
        () => s.stats(),
      ])
        expect(await codeOf(call())).toBe('store_closed');
      expect(s.parseId(String(e!.id))).toBe(e!.id);
      expect(await redis!.ping()).toBe('PONG');
      expect(await redis!.xlen(s.streamKey)).toBe(1);
    });
  });
});

describe.skipIf(!hasRedis)('redis dead letters, on a Redis of their own', () => {
  it('loads its scripts where the server has none (NOSCRIPT) and fails as unavailable when Redis is gone', async () => {
    const server = await PrivateRedis.start();
    const r = await connect(server.url);
    try {
      const s = new RedisDeadLetterStore({ redis: r, prefix: freshPrefix(), max: 10 });
      const evalsha = vi.spyOn(r, 'evalsha');
      await s.add('s', 'ttl', '1', 0);
      // EVALSHA was refused (no such script yet), EVAL ran it; the next add uses EVALSHA.
      expect(await r.script('EXISTS', evalsha.mock.calls[0]![0] as string)).toEqual([1]);
      await s.add('s', 'ttl', '2', 0);
      expect((await s.list()).map((e) => e.data)).toEqual(['1', '2']);

      await server.kill();
      const events = new Emitter<CoreEvents>();
      const errors: CoreEvents['error'][] = [];
      events.on('error', (e) => errors.push(e));
      const writer = new DeadLetterWriter(s, events);
      expect(() => writer.add('s', 'ttl', '3', 0)).not.toThrow();
      expect(await codeOf(s.list())).toBe('store_unavailable');
      expect(await codeOf(s.stats())).toBe('store_unavailable');
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(writer.failures).toBe(1);
      expect(errors.map((e) => e.where)).toEqual(['dead-letter']);
    } finally {
      r.disconnect();
      await server.stop();
    }
  });

  it('a store whose Redis never answered: every call rejects, none throws', async () => {
    const r = createRedisClient(`redis://127.0.0.1:${await freePort()}`);
    r.on('error', () => {});
    try {
      const s = new RedisDeadLetterStore({ redis: r, prefix: freshPrefix(), max: 10 });
      let added: unknown;
      expect(() => {
        added = s.add('s', 'ttl', '1', 0);
      }).not.toThrow();
      expect(await codeOf(added)).toBe('store_unavailable');
      expect(await codeOf(s.claim('1-0'))).toBe('store_unavailable');
    } finally {
      r.disconnect();
    }
  });
});
