/**
 * Two hubs on one shared memory store, each with a Redis bus of its own on one channel (the
 * shape of a cluster, with the store in process so that Redis can go away without it): a
 * message stored on node B reaches the client on node A through the bus, and a hint lost
 * while Redis was down is made up by the resync when the bus's subscriber is back.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { DEFAULT_LIMITS } from '../store/limits.js';
import { MemoryStore } from '../store/memory-store.js';
import { createRedisClient } from '../store/redis/redis-client.js';
import { RedisBus } from '../store/redis/redis-bus.js';
import {
  freshPrefix,
  PrivateRedis,
  requireRedis,
  TEST_REDIS_URL,
} from '../store/redis/redis-test-support.js';
import { HubHarness } from './test-support/hub-harness.js';

const hasRedis = await requireRedis('two nodes on a redis bus');

async function waitFor(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function client(url: string): Redis {
  const r = createRedisClient(url);
  r.on('error', () => {});
  cleanup.push(() => r.disconnect());
  return r;
}

async function bus(url: string, prefix: string): Promise<RedisBus> {
  const publisher = client(url);
  const b = new RedisBus({ publisher, subscriber: client(url), prefix });
  cleanup.push(() => b.close());
  await b.whenSubscribed();
  await waitFor('the publisher', () => publisher.status === 'ready');
  return b;
}

describe.skipIf(!hasRedis)('two hubs on one memory store and two Redis buses', () => {
  async function twoHubs(url: string): Promise<{ a: HubHarness; b: HubHarness }> {
    const prefix = freshPrefix();
    const clock = new ManualClock();
    const store = new MemoryStore({ limits: DEFAULT_LIMITS });
    const busA = await bus(url, prefix);
    const busB = await bus(url, prefix);
    const a = new HubHarness({ store, clock, bus: busA, node: 'node-a' });
    const b = new HubHarness({ store, clock, bus: busB, node: 'node-b' });
    cleanup.push(() => a.hub.close());
    cleanup.push(() => b.hub.close());
    return { a, b };
  }

  async function until(a: HubHarness, what: string, ok: () => boolean): Promise<void> {
    await waitFor(what, () => {
      void a.settle();
      return ok();
    });
    await a.settle();
  }

  it('a message appended on node B reaches the client attached on node A', async () => {
    const { a, b } = await twoHubs(TEST_REDIS_URL);
    const s = await a.session();
    await b.hub.send(s.sid, 'b1');
    await until(a, 'the message on A', () => s.t.framesOf('msg').length === 1);
    expect(s.t.framesOf('msg').map((m) => [m.seq, m.data])).toEqual([[1, 'b1']]);
  });

  it('a message appended while the bus was down reaches node A when its subscriber is back (resync)', async () => {
    const redis = await PrivateRedis.start();
    cleanup.push(() => redis.stop());
    const { a, b } = await twoHubs(redis.url);
    const s = await a.session();
    await redis.kill();
    await b.hub.send(s.sid, 'b1'); // stored (memory store); its hint is lost
    await new Promise((r) => setTimeout(r, 50));
    await a.settle();
    expect(s.t.framesOf('msg')).toHaveLength(0);
    await redis.restart();
    await until(a, 'the message on A', () => s.t.framesOf('msg').length === 1);
    expect(s.t.framesOf('msg').map((m) => [m.seq, m.data])).toEqual([[1, 'b1']]);
  });
});
