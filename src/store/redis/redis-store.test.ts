/**
 * The Store contract suite on the real Redis (a fresh key prefix per store, deleted after
 * it), plus what only a Redis store has: the generation check, a stream lost behind its
 * record, call order through one connection, and outages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRwsError } from '../../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { runStoreContract } from '../store.contract.js';
import type { Store } from '../store.js';
import { KEY } from '../contract/support.contract.js';
import { Redis } from 'ioredis';
import { RedisStore } from './redis-store.js';
import {
  deletePrefix,
  freshPrefix,
  PrivateRedis,
  requireRedis,
  TEST_REDIS_URL,
} from './redis-test-support.js';

const hasRedis = await requireRedis('redis store contract');

const prefixes: string[] = [];
const prefixOf = new WeakMap<Store, string>();

describe.skipIf(!hasRedis)('RedisStore', () => {
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  });

  runStoreContract(
    'redis',
    async (limits) => {
      const prefix = freshPrefix();
      prefixes.push(prefix);
      const store = new RedisStore({ url: TEST_REDIS_URL, prefix, limits, partitions: 16 });
      await store.waitReady();
      prefixOf.set(store, prefix);
      return store;
    },
    {
      teardown: async (store) => {
        await store.close();
        const prefix = prefixOf.get(store);
        if (prefix !== undefined) await deletePrefix(TEST_REDIS_URL, prefix);
      },
    },
  );
});

describe.skipIf(!hasRedis)('RedisStore on a Redis of its own', () => {
  const limits = { ...DEFAULT_LIMITS, messageTtlMs: 600_000 };
  const T = 1_700_000_000_000;
  const m = (data: string) => ({ data, bytes: Buffer.byteLength(data) });
  let dir: string;
  let redis: PrivateRedis | undefined;
  let store: RedisStore | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rws-redis-'));
  });
  afterEach(async () => {
    await store?.close();
    await redis?.stop();
    store = undefined;
    redis = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function open(extra: string[] = []): Promise<RedisStore> {
    redis = await PrivateRedis.start(['--dir', dir, '--dbfilename', 'dump.rdb', ...extra]);
    store = new RedisStore({ url: redis.url, prefix: 'rws', limits, partitions: 4 });
    await store.waitReady();
    return store;
  }

  it('after a restart from an older snapshot, a resume says epoch_changed and seqs start over', async () => {
    const s = await open();
    const generations: number[] = [];
    s.onRestart(({ generation, previous }) => generations.push(previous, generation));
    await s.createSession({ sid: 'a', keyHash: KEY, now: T, owner: 'n1' });
    await s.append('a', m('"1"'), T);
    await s.append('a', m('"2"'), T);
    const probe = new Redis(redis!.url);
    await probe.save(); // the snapshot holds seqs 1 and 2
    probe.disconnect();
    expect(await s.append('a', m('"3"'), T)).toMatchObject({ status: 'stored', seq: 3 });
    await s.ack('a', 3, T);
    await redis!.restart(); // loads the snapshot: last = 2 again, under a new run_id
    await s.waitReady();
    expect(s.currentGeneration).toBe(2);
    expect(generations).toEqual([1, 2]);
    // The client acked 3, which the rolled-back store never had: not a bad_ack, a new epoch.
    const before = await s.getSession('a');
    const r = await s.resume('a', KEY, 3, T + 1, 'n2');
    expect(r).toMatchObject({ status: 'ok', epochChanged: true, acked: 0, messages: [] });
    if (r.status !== 'ok') return;
    expect(r.session.epoch).not.toBe(before?.epoch);
    expect(r.session.last).toBe(0);
    expect(await s.append('a', m('"4"'), T + 2)).toMatchObject({ status: 'stored', seq: 1 });
    // Told once: the next resume is an ordinary one.
    expect(await s.resume('a', KEY, 1, T + 3, 'n2')).toMatchObject({ epochChanged: false });
  });

  it('a detach after a snapshot restart does not launder the stale record (seqs are not reused)', async () => {
    const s = await open();
    await s.createSession({ sid: 'd', keyHash: KEY, now: T, owner: 'n1' });
    await s.append('d', m('"1"'), T);
    const probe = new Redis(redis!.url);
    await probe.save();
    probe.disconnect();
    await s.append('d', m('"2"'), T);
    await redis!.restart();
    await s.waitReady();
    // The node closes its connections on the restart: their detach runs first.
    expect(await s.detach('d', T + 1, 60_000, 'n1')).toBe(true);
    // The next append starts the stream over: seq 2 is never handed out twice.
    expect(await s.append('d', m('"3"'), T + 2)).toMatchObject({ status: 'stored', seq: 1 });
    expect(await s.resume('d', KEY, 2, T + 3, 'n2')).toMatchObject({
      status: 'ok',
      epochChanged: true,
      acked: 0,
    });
  });

  it('a stream lost behind its record (an evicted or deleted key) starts a new epoch', async () => {
    const s = await open();
    await s.createSession({ sid: 'b', keyHash: KEY, now: T, owner: 'n1' });
    await s.append('b', m('"1"'), T);
    const probe = new Redis(redis!.url);
    await probe.del(`${s.keys.partOf('b')}:o:b`);
    probe.disconnect();
    const r = await s.resume('b', KEY, 1, T + 1, 'n1');
    expect(r).toMatchObject({ status: 'ok', epochChanged: true, missing: 0, messages: [] });
  });

  it('fails calls at once with store_unavailable while Redis is down, and recovers by itself', async () => {
    const s = await open();
    await s.createSession({ sid: 'c', keyHash: KEY, now: T, owner: 'n1' });
    await redis!.kill();
    const started = Date.now();
    const error: unknown = await s.append('c', m('"x"'), T).catch((e: unknown) => e);
    expect(isRwsError(error) && error.code).toBe('store_unavailable');
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(s.ping()).rejects.toMatchObject({ code: 'store_unavailable' });
    const restarts: number[] = [];
    s.onRestart(({ generation }) => restarts.push(generation));
    await redis!.restart(); // empty: no persistence
    await s.waitReady();
    await s.ping();
    // Told although the generation count started over at 1 with the empty Redis.
    expect(restarts).toEqual([1]);
    // Everything is gone: loud, never silent.
    expect(await s.resume('c', KEY, 0, T, 'n1')).toEqual({ status: 'unknown_session' });
  });

  it('refuses a Redis whose eviction policy could drop session keys', async () => {
    redis = await PrivateRedis.start(['--maxmemory-policy', 'allkeys-lru']);
    store = new RedisStore({ url: redis.url, limits, partitions: 4 });
    await expect(store.waitReady(3000)).rejects.toThrow(
      /maxmemory-policy is allkeys-lru.*noeviction/,
    );
    await expect(store.ping()).rejects.toThrow(/noeviction/);
  });
});

describe.skipIf(!hasRedis)('RedisStore: kept results', () => {
  it('forgets a kept result with its id (expired or pushed out)', async () => {
    const prefix = freshPrefix();
    const limits = { ...DEFAULT_LIMITS, dedupWindowMs: 1000, dedupMaxIds: 3 };
    const store = new RedisStore({ url: TEST_REDIS_URL, prefix, limits, partitions: 1 });
    const probe = new Redis(TEST_REDIS_URL);
    try {
      await store.waitReady();
      const T = 1_700_000_000_000;
      await store.createSession({ sid: 's', keyHash: KEY, now: T, owner: 'n' });
      const [crKey] = (await probe.keys(`${prefix}:*`)).filter((k) => k.endsWith(':s:s'));
      const results = crKey!.replace(/:s:s$/, ':cr:s');
      for (const id of ['a', 'b']) {
        await store.claimClientMessage('s', id, T, 'n');
        await store.completeClientMessage('s', id, `"${id}"`);
      }
      expect(await probe.hlen(results)).toBe(2);
      await store.claimClientMessage('s', 'c', T + 1000, 'n');
      await store.completeClientMessage('s', 'c', '"c"');
      expect(await probe.hlen(results)).toBe(1);
      for (const id of ['d', 'e', 'f']) {
        await store.claimClientMessage('s', id, T + 1000, 'n');
        await store.completeClientMessage('s', id);
      }
      expect(await store.claimClientMessage('s', 'c', T + 1000, 'n')).toBe('new');
      expect(await probe.hlen(results)).toBe(0);
    } finally {
      probe.disconnect();
      await store.close();
      await deletePrefix(TEST_REDIS_URL, prefix);
    }
  });
});
