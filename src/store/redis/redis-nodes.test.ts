/**
 * The node list on the real Redis: heartbeats, a dead node's sessions detached (fenced by
 * owner, so a session another node resumed meanwhile stays attached) and then reaped at
 * their TTL, and a node that comes back after being declared dead is told.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KEY } from '../contract/support.contract.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { createRedisClient } from './redis-client.js';
import { RedisNodes } from './redis-nodes.js';
import { RedisStore } from './redis-store.js';
import { deletePrefix, freshPrefix, requireRedis, TEST_REDIS_URL } from './redis-test-support.js';

const hasRedis = await requireRedis('redis nodes');

describe.skipIf(!hasRedis)('RedisNodes', () => {
  const prefixes: string[] = [];
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });
  afterAll(async () => {
    for (const p of prefixes) await deletePrefix(TEST_REDIS_URL, p);
  });

  async function setup() {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    const redis = createRedisClient(TEST_REDIS_URL);
    open.push({ close: async () => void (await redis.quit()) });
    const limits = { ...DEFAULT_LIMITS, messageTtlMs: 600_000 };
    const store = new RedisStore({ redis, prefix, limits, partitions: 4 });
    open.push(store);
    await store.waitReady();
    let clock = 1_700_000_000_000;
    const node = (name: string) =>
      new RedisNodes({
        redis,
        keys: store.keys,
        node: name,
        info: { name },
        sessionTtlMs: 5000,
        messageTtlMs: limits.messageTtlMs,
        deadAfterMs: 10_000,
        now: () => clock,
      });
    return { store, redis, node, advance: (ms: number) => (clock += ms), now: () => clock };
  }

  it('lists live nodes with what they said about themselves', async () => {
    const { node } = await setup();
    const a = node('a');
    const b = node('b');
    await a.tick();
    await b.tick();
    const listed = await a.list();
    expect(listed.map((n) => [n.node, n.alive, n.info.name]).sort()).toEqual([
      ['a', true, 'a'],
      ['b', true, 'b'],
    ]);
    await b.stop();
    expect((await a.list()).map((n) => n.node)).toEqual(['a']);
  });

  it("detaches a dead node's sessions, fenced by owner, so that they expire", async () => {
    const { store, redis, node, advance, now } = await setup();
    const dead = node('dead');
    const live = node('live');
    const reaped: [string, number][] = [];
    live.onReaped((n, count) => reaped.push([n, count]));
    await dead.tick();
    for (const sid of ['s1', 's2', 's3'])
      await store.createSession({ sid, keyHash: KEY, now: now(), owner: 'dead' });
    await store.append('s1', { data: '"x"', bytes: 3 }, now());
    // s3 was resumed by the live node: the dead node's cleanup must leave it alone, even if
    // the dead node's set still lists it (a resume racing the cleanup).
    await store.resume('s3', KEY, 0, now(), 'live');
    await redis.sadd(`${store.keys.partOf('s3')}:on:dead`, 's3');
    advance(5000);
    await live.tick();
    expect(await store.getSession('s1')).toMatchObject({ attached: true, owner: 'dead' });
    advance(6000); // 11 s without a heartbeat from `dead`
    await live.tick();
    expect(reaped).toEqual([['dead', 3]]);
    for (const sid of ['s1', 's2'])
      expect(await store.getSession(sid)).toMatchObject({
        attached: false,
        expiresAt: now() + 5000,
      });
    expect(await store.getSession('s3')).toMatchObject({ attached: true, owner: 'live' });
    expect(await store.stats()).toMatchObject({ attached: 1, detached: 2 });
    expect((await live.list()).map((n) => n.node)).toEqual(['live']);
    // The claim goes with the work: a node of that name that dies again is reaped on time.
    expect(await redis.exists(`${store.keys.global}:reap:dead`)).toBe(0);
    // Reaped at their session TTL like any detached session, with what they held.
    const swept = await store.sweep(now() + 5000);
    expect(swept.reaped.map((r) => [r.sid, r.messages.length]).sort()).toEqual([
      ['s1', 1],
      ['s2', 0],
    ]);
  });

  it("beats by Redis's clock when none is given, so node clocks need not agree", async () => {
    const { store, redis } = await setup();
    const n = new RedisNodes({
      redis,
      keys: store.keys,
      node: 'by-redis-time',
      info: {},
      sessionTtlMs: 5000,
      messageTtlMs: 600_000,
    });
    await n.tick();
    const [sec] = await redis.time();
    const [listed] = await n.list();
    expect(listed?.node).toBe('by-redis-time');
    expect(Math.abs(listed!.lastSeen - Number(sec) * 1000)).toBeLessThan(5000);
    expect(listed?.alive).toBe(true);
  });

  it('tells a node that comes back after it was declared dead', async () => {
    const { node, advance } = await setup();
    const slow = node('slow');
    const other = node('other');
    let told = 0;
    slow.onDeclaredDead(() => told++);
    await slow.tick();
    await other.tick();
    await slow.tick();
    expect(told).toBe(0);
    advance(11_000);
    await other.tick(); // reaps `slow`
    await slow.tick();
    expect(told).toBe(1);
  });

  it('a dead node is reaped by one live node only', async () => {
    const { node, advance } = await setup();
    const dead = node('gone');
    await dead.tick();
    const live = [node('l1'), node('l2'), node('l3')];
    advance(11_000);
    const reapers: string[] = [];
    live.forEach((n, i) => n.onReaped(() => reapers.push(`l${i + 1}`)));
    await Promise.all(live.map((n) => n.tick()));
    expect(reapers).toHaveLength(1);
  });
  it('keeps its own heartbeat going while it reaps a dead node (a long reap is not a death)', async () => {
    const { store, redis, node, advance, now } = await setup();
    const dead = node('dead');
    await dead.tick();
    for (const sid of ['r1', 'r2'])
      await store.createSession({ sid, keyHash: KEY, now: now(), owner: 'dead' });
    const reaper = node('reaper');
    await reaper.tick();
    advance(11_000);
    // The reap of the dead node's sessions is slow (a big node, a slow Redis).
    let release = (): void => {};
    const held = new Promise<void>((r) => (release = r));
    const evalOf = redis.eval.bind(redis);
    redis.eval = (async (...args: Parameters<typeof evalOf>) => {
      if (String(args[0]).includes('SRANDMEMBER')) await held;
      return evalOf(...args);
    }) as typeof redis.eval;
    const reaping = reaper.tick();
    await new Promise((r) => setTimeout(r, 50));
    advance(5000);
    await reaper.tick(); // the next heartbeat, while the reap is still running
    const beat = Number(await redis.zscore(`${store.keys.global}:nodes`, 'reaper'));
    release();
    await reaping;
    redis.eval = evalOf;
    expect(beat).toBe(now());
  });
});
