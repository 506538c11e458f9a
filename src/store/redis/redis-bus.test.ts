/**
 * The Redis bus on a real Redis: events round-trip between nodes (never back to their own
 * node), malformed messages are counted and ignored, a publish while Redis is away is counted
 * and never throws, and the repairs: a subscriber that reconnects resyncs every listener, and
 * a subscriber that is connected but deaf is found by the idle-channel probe, reconnected and
 * resynced. Tests that stop Redis or cut its connections use a private redis-server.
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChaosProxy } from '../../../test/support/chaos-proxy.js';
import type { BusEvent, BusListener } from '../session-bus.js';
import { createRedisClient } from './redis-client.js';
import { decodeBusMessage, encodeBusEvent, encodeBusMessages } from './redis-bus-codec.js';
import { RedisBus, type RedisBusOptions } from './redis-bus.js';
import { decodeBusMessage10 } from './test-support/bus-codec-1.0.js';
import { freshPrefix, PrivateRedis, requireRedis, TEST_REDIS_URL } from './redis-test-support.js';

const hasRedis = await requireRedis('redis bus');

const EVENTS: BusEvent[] = [
  { type: 'appended', stream: { kind: 'session', sid: 's-1' }, seq: 7 },
  { type: 'lost', stream: { kind: 'session', sid: 's-1' }, upTo: 5 },
  { type: 'refused', sid: 's-2' },
  { type: 'takeover', sid: 's-3', owner: 'node-b' },
  { type: 'ended', sid: 's-4', by: 'bye' },
  { type: 'ended', sid: 's-5', by: 'admin' },
  { type: 'ended', sid: 's-6', by: 'user_limit' },
  { type: 'ended', sid: 's-7', by: 'admin', reason: 'account closed' },
  { type: 'disconnect', sid: 's-8' },
  { type: 'disconnect', sid: 's-9', reason: 'rebalancing' },
];

class Recorder implements BusListener {
  readonly events: BusEvent[] = [];
  resyncs = 0;
  event(e: BusEvent): void {
    this.events.push(e);
  }
  resync(): void {
    this.resyncs++;
  }
}

async function waitFor(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Everything a test opened, closed after it. */
const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function client(url: string, name: string): Redis {
  const r = createRedisClient(url, { connectionName: name });
  r.on('error', () => {});
  cleanup.push(() => r.disconnect());
  return r;
}

/** A bus with connections of its own to `url` (the subscriber through `subscriberUrl`). */
async function bus(
  url: string,
  prefix: string,
  options: Partial<RedisBusOptions> & { subscriberUrl?: string } = {},
): Promise<{ bus: RedisBus; publisher: Redis; subscriber: Redis }> {
  const publisher = client(url, 'rws:test:cmd');
  const subscriber = client(options.subscriberUrl ?? url, 'rws:test:sub');
  const b = new RedisBus({ publisher, subscriber, prefix, ...options });
  cleanup.push(() => b.close());
  await b.whenSubscribed();
  // A PUBLISH before the command connection is up fails at once (no offline queue): wait.
  await waitFor('the publisher', () => publisher.status === 'ready');
  return { bus: b, publisher, subscriber };
}

describe('bus wire format', () => {
  it('every event decodes to itself; a probe decodes as a probe', () => {
    for (const e of EVENTS) {
      expect(decodeBusMessage(encodeBusEvent('node-a', e))).toEqual({
        kind: 'event',
        from: 'node-a',
        event: e,
      });
    }
    expect(decodeBusMessage('[1,"bus-x","p"]')).toEqual({ kind: 'probe', from: 'bus-x' });
    expect(encodeBusEvent('n', EVENTS[0]!)).toBe('[1,"n","a","s-1",7]');
    // Without a reason, an end keeps the 1.0 message that older nodes read.
    expect(encodeBusEvent('n', EVENTS[5]!)).toBe('[1,"n","e","s-5","admin"]');
    // With one, that message follows the one with the reason.
    expect(encodeBusMessages('n', EVENTS[7]!)).toEqual([
      '[1,"n","e","s-7","admin","account closed"]',
      '[1,"n","e","s-7","admin"]',
    ]);
    for (const e of EVENTS.filter((e) => e.type !== 'ended' || e.reason === undefined))
      expect(encodeBusMessages('n', e)).toEqual([encodeBusEvent('n', e)]);
  });

  it('anything else is undefined, never a throw', () => {
    for (const bad of [
      '',
      'garbage',
      '{"t":"a"}',
      '[]',
      'null',
      '[2,"n","a","s",1]', // a future version
      '[1,"","a","s",1]', // no sender
      '[1,"n","a","s",-1]',
      '[1,"n","a","s",1.5]',
      '[1,"n","a","s","1"]',
      '[1,"n","a","",1]',
      '[1,"n","a","s"]',
      '[1,"n","l","s",1,2]',
      '[1,"n","r"]',
      '[1,"n","t","s",7]',
      '[1,"n","e","s","later"]',
      '[1,"n","e","s","admin",7]', // a reason that is not a string
      '[1,"n","d",""]',
      '[1,"n","d","s",null]',
      '[1,"n","d","s","why","extra"]',
      '[1,"n","x","s",1]',
      '[1,"n","p","extra"]',
    ]) {
      expect(decodeBusMessage(bad), bad).toBeUndefined();
    }
  });
});

describe.skipIf(!hasRedis)('RedisBus on Redis', () => {
  it('is not reliable: every node runs the position check', async () => {
    const { bus: a } = await bus(TEST_REDIS_URL, freshPrefix());
    expect(a.reliable).toBe(false);
  });

  it('every event type round-trips between two nodes, in order; own events are not delivered back', async () => {
    const prefix = freshPrefix();
    const { bus: a } = await bus(TEST_REDIS_URL, prefix);
    const { bus: b } = await bus(TEST_REDIS_URL, prefix);
    const ra = new Recorder();
    const rb = new Recorder();
    a.subscribe('node-a', ra);
    b.subscribe('node-b', rb);

    // An end with a reason is followed by the same end without it, for older nodes.
    const heard = EVENTS.flatMap((e): BusEvent[] =>
      e.type === 'ended' && e.reason !== undefined
        ? [e, { type: 'ended', sid: e.sid, by: e.by }]
        : [e],
    );
    for (const e of EVENTS) a.publish('node-a', e);
    await waitFor('B hears A', () => rb.events.length === heard.length);
    expect(rb.events).toEqual(heard);
    // B publishes only after A's events reached Redis: whatever A hears of A's own came first.
    for (const e of EVENTS) b.publish('node-b', e);
    await waitFor('A hears B', () => ra.events.length >= heard.length);
    await new Promise((r) => setTimeout(r, 50));
    expect(ra.events).toEqual(heard); // B's only: A's own were dropped
    expect(rb.events).toHaveLength(heard.length); // and B's own did not come back to B

    await waitFor('acks', () => a.stats().published === heard.length);
    expect(a.stats()).toMatchObject({
      published: heard.length,
      publishFailures: 0,
      received: 2 * heard.length,
    });
    expect(b.stats()).toMatchObject({
      published: heard.length,
      received: 2 * heard.length,
      malformed: 0,
    });
  });

  it('an end with a reason still ends the session on a node of the previous release (rolling upgrade)', async () => {
    const { bus: a } = await bus(TEST_REDIS_URL, freshPrefix());
    // A 1.0 node on the same channel: it decodes with the 1.0 codec, which reads only the
    // five-element end.
    const old = client(TEST_REDIS_URL, 'rws:test:old-node');
    const heard: BusEvent[] = [];
    old.on('message', (_channel: string, text: string) => {
      const m = decodeBusMessage10(text);
      if (m?.kind === 'event') heard.push(m.event);
    });
    await waitFor('the old node', () => old.status === 'ready');
    await old.subscribe(a.channel);
    a.publish('node-a', { type: 'ended', sid: 's-7', by: 'admin', reason: 'account closed' });
    a.publish('node-a', EVENTS[0]!); // a marker: everything before it has arrived
    await waitFor('the marker', () => heard.some((e) => e.type === 'appended'));
    // Else the old node keeps the client attached to a session the store has forgotten.
    expect(heard).toContainEqual({ type: 'ended', sid: 's-7', by: 'admin' });
  });

  it('several nodes on one bus: an event reaches every node but its publisher', async () => {
    const { bus: a } = await bus(TEST_REDIS_URL, freshPrefix());
    const [r1, r2, r3] = [new Recorder(), new Recorder(), new Recorder()];
    a.subscribe('node-1', r1);
    const off2 = a.subscribe('node-2', r2);
    a.subscribe('node-3', r3);
    expect(() => a.subscribe('node-1', new Recorder())).toThrow(/already subscribed/);

    a.publish('node-1', EVENTS[0]!);
    await waitFor('2 and 3 hear 1', () => r2.events.length === 1 && r3.events.length === 1);
    off2();
    a.publish('node-3', EVENTS[2]!);
    await waitFor('1 hears 3', () => r1.events.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(r1.events).toEqual([EVENTS[2]]);
    expect(r2.events).toEqual([EVENTS[0]]); // unsubscribed before 3's event
    expect(r3.events).toEqual([EVENTS[0]]);
  });

  it('malformed messages on the channel are counted and ignored', async () => {
    const { bus: a, publisher } = await bus(TEST_REDIS_URL, freshPrefix());
    const r = new Recorder();
    a.subscribe('node-a', r);
    const junk = ['garbage', '[]', '[2,"x","a","s",1]', '[1,"x","a","s",-1]', '{"a":1}', '\u0000'];
    for (const j of junk) await publisher.publish(a.channel, j);
    await publisher.publish(a.channel, encodeBusEvent('node-x', EVENTS[3]!));
    await waitFor('the valid event', () => r.events.length === 1);
    expect(r.events).toEqual([EVENTS[3]]);
    expect(a.stats()).toMatchObject({ received: junk.length + 1, malformed: junk.length });
  });

  it('a listener that throws is reported; the others still hear the event', async () => {
    const errors: unknown[] = [];
    const { bus: a } = await bus(TEST_REDIS_URL, freshPrefix(), {
      onError: (_where, e) => errors.push(e),
    });
    const r = new Recorder();
    a.subscribe('node-1', {
      event: () => {
        throw new Error('listener bug');
      },
      resync: () => {},
    });
    a.subscribe('node-2', r);
    a.publish('node-x', EVENTS[0]!);
    await waitFor('node-2 hears it', () => r.events.length === 1);
    expect(errors).toHaveLength(1);
  });

  it('a publish while Redis is down does not throw and is counted as a failure', async () => {
    const redis = await PrivateRedis.start();
    cleanup.push(() => redis.stop());
    const { bus: a, publisher } = await bus(redis.url, freshPrefix());
    await redis.kill();
    await waitFor('publisher down', () => publisher.status !== 'ready');
    expect(() => a.publish('node-a', EVENTS[0]!)).not.toThrow();
    await waitFor('the failure counted', () => a.stats().publishFailures === 1);
    expect(a.stats()).toMatchObject({ published: 0, publishFailures: 1 });
    expect(a.subscribed).toBe(false);
  });

  it('after a Redis restart the subscriber subscribes again, every listener resyncs, and events flow', async () => {
    const redis = await PrivateRedis.start();
    cleanup.push(() => redis.stop());
    const prefix = freshPrefix();
    const { bus: a } = await bus(redis.url, prefix);
    const { bus: b, publisher: pb } = await bus(redis.url, prefix);
    const ra = new Recorder();
    a.subscribe('node-a', ra);
    b.subscribe('node-b', new Recorder());
    const before = a.stats().resyncs;

    await redis.restart(); // an empty Redis: nobody is subscribed there
    await waitFor('A resynced', () => ra.resyncs === 1 && a.subscribed);
    expect(a.stats().resyncs).toBe(before + 1);
    await waitFor('B publisher back', () => pb.status === 'ready');
    b.publish('node-b', EVENTS[1]!);
    await waitFor('A hears B again', () => ra.events.length === 1);
    expect(ra.events).toEqual([EVENTS[1]]);
  });

  it('the probe finds a subscriber that is connected but deaf (a stalled connection), reconnects and resyncs', async () => {
    const redis = await PrivateRedis.start();
    cleanup.push(() => redis.stop());
    const proxy = new ChaosProxy({ host: '127.0.0.1', port: redis.port });
    const port = await proxy.listen();
    cleanup.push(() => proxy.close());
    const prefix = freshPrefix();
    // A's subscriber reaches Redis through the proxy; its publisher and B go direct.
    const { bus: a } = await bus(redis.url, prefix, {
      subscriberUrl: `redis://127.0.0.1:${port}`,
      probeIntervalMs: 50,
      probeTimeoutMs: 100,
    });
    const { bus: b } = await bus(redis.url, prefix);
    const ra = new Recorder();
    a.subscribe('node-a', ra);

    // Idle and healthy: probes come back, nothing is reconnected.
    await waitFor('a probe', () => a.stats().probes >= 2);
    expect(a.stats().probeFailures).toBe(0);
    expect(ra.resyncs).toBe(0);

    // Deaf: the socket stays open, nothing Redis sends reaches A.
    proxy.pause();
    b.publish('node-b', EVENTS[0]!); // lost to A
    await waitFor('the probe failure', () => a.stats().probeFailures === 1);
    proxy.resume(); // the next connection hears again
    await waitFor('A resynced', () => ra.resyncs === 1 && a.subscribed);
    b.publish('node-b', EVENTS[2]!);
    await waitFor('A hears B again', () => ra.events.some((e) => e.type === 'refused'));
    expect(a.stats().probeFailures).toBe(1);
  });

  it('the probe finds a subscriber unsubscribed behind the bus, subscribes again and resyncs', async () => {
    const prefix = freshPrefix();
    const { bus: a, subscriber } = await bus(TEST_REDIS_URL, prefix, {
      probeIntervalMs: 50,
      probeTimeoutMs: 100,
    });
    const { bus: b } = await bus(TEST_REDIS_URL, prefix);
    const ra = new Recorder();
    a.subscribe('node-a', ra);

    await subscriber.unsubscribe(a.channel); // ioredis forgets the channel too
    await waitFor('the probe failure', () => a.stats().probeFailures === 1);
    await waitFor('A resynced', () => ra.resyncs === 1 && a.subscribed);
    b.publish('node-b', EVENTS[4]!);
    await waitFor('A hears B again', () => ra.events.length === 1);
    expect(ra.events).toEqual([EVENTS[4]]);
  });

  it('close stops the probe, drops the listeners and disconnects the subscriber only', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const clearIntervalSpy = vi.spyOn(globalThis, 'clearInterval');
    cleanup.push(() => {
      vi.restoreAllMocks();
    });
    const {
      bus: a,
      publisher,
      subscriber,
    } = await bus(TEST_REDIS_URL, freshPrefix(), {
      probeIntervalMs: 20,
    });
    const r = new Recorder();
    a.subscribe('node-a', r);
    const probeTimers = setIntervalSpy.mock.calls.flatMap((c, i) =>
      c[1] === 20 ? [setIntervalSpy.mock.results[i]!.value as unknown] : [],
    );
    expect(probeTimers).toHaveLength(1);
    await a.close();
    expect(clearIntervalSpy).toHaveBeenCalledWith(probeTimers[0]);
    expect(r.resyncs).toBe(0);
    const probes = a.stats().probes;
    await new Promise((r) => setTimeout(r, 80));
    expect(a.stats().probes).toBe(probes);
    expect(subscriber.status).toBe('end');
    expect(await publisher.ping()).toBe('PONG');
    expect(() => a.publish('node-a', EVENTS[0]!)).not.toThrow();
  });
});
