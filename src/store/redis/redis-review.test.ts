/**
 * Regressions found in review of the Redis store: each test shows a behaviour that differed
 * from the Store contract (src/store/store.ts) or from the memory store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEFAULT_LIMITS } from '../limits.js';
import { KEY } from '../contract/support.contract.js';
import { RedisStore, type StoreBreaker } from './redis-store.js';
import {
  deletePrefix,
  freshPrefix,
  PrivateRedis,
  requireRedis,
  TEST_REDIS_URL,
} from './redis-test-support.js';

const hasRedis = await requireRedis('redis store review');

const T = 1_700_000_000_000;
const m = (data: string) => ({ data, bytes: Buffer.byteLength(data) });

describe.skipIf(!hasRedis)('RedisStore (review regressions)', () => {
  const opened: { store: RedisStore; prefix: string }[] = [];
  afterEach(async () => {
    for (const { store, prefix } of opened.splice(0)) {
      await store.close();
      await deletePrefix(TEST_REDIS_URL, prefix);
    }
  });

  async function open(
    limits = { ...DEFAULT_LIMITS, messageTtlMs: 1000 },
    breaker?: StoreBreaker,
  ): Promise<RedisStore> {
    const prefix = freshPrefix();
    const store = new RedisStore({
      url: TEST_REDIS_URL,
      prefix,
      limits,
      partitions: 4,
      ...(breaker === undefined ? {} : { breaker }),
    });
    opened.push({ store, prefix });
    await store.waitReady();
    return store;
  }

  it('a sweep that fails for one session still hands back what it removed from the others', async () => {
    // A breaker that lets everything through until told to refuse after `allow` more calls.
    let allow = Infinity;
    const breaker: StoreBreaker = {
      tryAcquire: () => allow-- > 0,
      onSuccess: () => {},
      onFailure: () => {},
    };
    const s = await open(undefined, breaker);
    for (const sid of ['a', 'b']) {
      await s.createSession({ sid, keyHash: KEY, now: T, owner: 'n1' });
      await s.append(sid, m(`"${sid}"`), T);
    }
    allow = 1; // the first session's sweep runs, the second's is refused (an outage)
    const handed: string[] = [];
    try {
      const r = await s.sweep(T + 5000);
      for (const e of r.expired) for (const x of e.messages) handed.push(x.data);
    } catch {
      // a rejected sweep must not have removed anything it does not hand back
    }
    allow = Infinity;
    const again = await s.sweep(T + 5000);
    for (const e of again.expired) for (const x of e.messages) handed.push(x.data);
    // Every expired message is handed back exactly once (dead-lettered), none silently lost.
    expect(handed.sort()).toEqual(['"a"', '"b"']);
  });
  it('a fractional `now` (a sub-millisecond clock) neither fails a script nor half-applies a batch', async () => {
    const s = await open(DEFAULT_LIMITS);
    const t = T + 0.5;
    await s.createSession({ sid: 'f', keyHash: KEY, now: t, owner: 'n1' });
    expect(await s.append('f', { ...m('"1"'), id: 'x' }, t)).toMatchObject({ seq: 1 });
    const batch = await Promise.all([
      s.append('f', m('"2"'), t + 1),
      s.append('f', { ...m('"3"'), id: 'x' }, t + 1),
    ]);
    expect(batch).toMatchObject([
      { status: 'stored', seq: 2 },
      { status: 'duplicate', seq: 1 },
    ]);
    expect(await s.claimClientMessage('f', 'c', t, 'n1')).toBe('new');
    await s.completeClientMessage('f', 'c', '"r"');
    expect(await s.claimClientMessage('f', 'c', t + 1, 'n1')).toBe('duplicate');
    expect(await s.clientMessageResult('f', 'c', t + 1)).toBe('"r"');
    const r = await s.resume('f', KEY, 0, t + 2, 'n1');
    expect(r).toMatchObject({ status: 'ok', epochChanged: false, missing: 0 });
    if (r.status === 'ok') expect(r.messages.map((x) => x.seq)).toEqual([1, 2]);
  });
});

describe.skipIf(!hasRedis)('RedisStore call order (review regressions)', () => {
  const opened: { store: RedisStore; prefix: string }[] = [];
  afterEach(async () => {
    for (const { store, prefix } of opened.splice(0)) {
      await store.close();
      await deletePrefix(TEST_REDIS_URL, prefix);
    }
  });

  async function open(): Promise<RedisStore> {
    const prefix = freshPrefix();
    const limits = { ...DEFAULT_LIMITS, messageTtlMs: 1000 };
    const store = new RedisStore({ url: TEST_REDIS_URL, prefix, limits, partitions: 4 });
    opened.push({ store, prefix });
    await store.waitReady();
    return store;
  }

  it('stats, topSessions and sessionIdPages see every call made before them (call order)', async () => {
    const s = await open();
    await s.createSession({ sid: 'a', keyHash: KEY, now: T, owner: 'n1' });
    const appended = s.append('a', m('"1"'), T);
    const stats = s.stats();
    const created = s.createSession({ sid: 'b', keyHash: KEY, now: T, owner: 'n1' });
    const pages: string[] = [];
    for await (const page of s.sessionIdPages(10)) pages.push(...page);
    await Promise.all([appended, created]);
    expect((await stats).messages).toBe(1);
    expect(pages.sort()).toEqual(['a', 'b']);
    const acked = s.ack('a', 1, T);
    const top = s.topSessions(10, 'age');
    await acked;
    // An empty outbox is not in the `age` ranking.
    expect(await top).toEqual([]);
  });
});

describe.skipIf(!hasRedis)('RedisStore readiness (review regressions)', () => {
  it('a transient failure while loading the scripts again does not leave the store unready for good', async () => {
    // SCRIPT FLUSH: on a Redis of its own, never on the shared one.
    const redis = await PrivateRedis.start();
    const conn = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    const store = new RedisStore({ redis: conn, limits: DEFAULT_LIMITS, partitions: 4 });
    try {
      await store.waitReady();
      await store.createSession({ sid: 'a', keyHash: KEY, now: T, owner: 'n1' });
      // The next INFO fails once (a command timeout, say), while the connection stays up.
      const info = conn.info.bind(conn);
      let failures = 1;
      conn.info = ((...args: Parameters<typeof info>) =>
        failures-- > 0
          ? Promise.reject(new Error('Command timed out'))
          : info(...args)) as typeof conn.info;
      const probe = new Redis(redis.url);
      await probe.script('FLUSH'); // the store must load its scripts again
      probe.disconnect();
      await expect(store.getSession('a')).rejects.toMatchObject({ code: 'store_unavailable' });
      await store.waitReady(3000);
      expect(await store.getSession('a')).toMatchObject({ sid: 'a' });
    } finally {
      await store.close();
      conn.disconnect();
      await redis.stop();
    }
  });
});
