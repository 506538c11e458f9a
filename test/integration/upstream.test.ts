/**
 * The gateway upstream end to end: a real server forwarding client messages to a real local
 * HTTP upstream that answers, rejects, fails, hangs and recovers — seen by real clients
 * through `ok` / `nack` frames, and by operators through GET /api/breakers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ResilientClient } from '../../client/index.js';
import type { CoreEvents, ServerOptions } from '../../src/index.js';
import { TestUpstream } from '../../src/upstream/test-support/test-upstream.js';
import { RawClient, sleep, type Frame } from '../support/raw-client.js';
import { startServer } from '../support/server.js';

const upstreams: TestUpstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.stop()));
});

const OPEN_MS = 300;

async function gateway(options: ServerOptions = {}) {
  const upstream = new TestUpstream();
  upstreams.push(upstream);
  const upstreamUrl = await upstream.start();
  const { server, info } = await startServer({
    upstreamUrl,
    upstreamTimeout: '200ms',
    upstreamRetries: 1,
    upstreamBackoffBase: '10ms',
    upstreamBackoffCap: '20ms',
    breakerFailureThreshold: 3,
    breakerOpenDuration: `${OPEN_MS}ms`,
    ...options,
  });
  const outcomes: CoreEvents['upstream'][] = [];
  server.on('upstream', (e) => outcomes.push(e));
  const client = await RawClient.connect(info.url);
  await client.hello();
  let n = 0;
  /** Send a client message and wait for its answer (`ok` or `nack`). */
  const ask = async (data: unknown, id = `m${++n}`): Promise<Frame> => {
    client.send({ t: 'msg', id, data });
    return client.next((f) => (f.t === 'ok' || f.t === 'nack') && f.id === id);
  };
  const breakers = async (): Promise<{ name: string; state: string }[]> => {
    const res = await fetch(`${info.httpUrl}/api/breakers`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { breakers: { name: string; state: string }[] }).breakers;
  };
  const upstreamBreaker = async () => (await breakers()).find((b) => b.name === 'upstream');
  return { upstream, server, info, client, ask, outcomes, breakers, upstreamBreaker };
}

const nackOf = (f: Frame) => ({ t: f.t, code: f.code, retryable: f.retryable });

describe('answers through the upstream', () => {
  it('2xx: ok with the upstream response body as data; the upstream got {sid, id, data}', async () => {
    const { upstream, ask, outcomes } = await gateway();
    const f = await ask({ order: 42 }, 'order-42');
    expect(f).toEqual({ t: 'ok', id: 'order-42', data: { echo: { order: 42 } } });
    expect(upstream.received).toEqual([
      expect.objectContaining({
        method: 'POST',
        contentType: 'application/json',
        body: { sid: expect.any(String) as string, id: 'order-42', data: { order: 42 } },
      }),
    ]);
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'ok', status: 200, attempts: 1 }),
    ]);
  });

  it('4xx: nack upstream_rejected, not retryable, carrying the upstream message', async () => {
    const { upstream, ask } = await gateway();
    upstream.behaviour = {
      kind: 'status',
      status: 409,
      body: JSON.stringify({ error: { message: 'seat already taken' } }),
    };
    const f = await ask({ seat: '12A' });
    expect(nackOf(f)).toEqual({ t: 'nack', code: 'upstream_rejected', retryable: false });
    expect(f.message).toBe('upstream answered 409: seat already taken');
    expect(upstream.received).toHaveLength(1);
  });

  it('5xx: retried once, then nack upstream_failed (retryable)', async () => {
    const { upstream, ask, outcomes } = await gateway();
    upstream.behaviour = { kind: 'status', status: 502 };
    expect(nackOf(await ask('x'))).toEqual({ t: 'nack', code: 'upstream_failed', retryable: true });
    expect(upstream.received.map((r) => r.answered)).toEqual(['502', '502']);
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'failed', status: 502, attempts: 2 }),
    ]);
  });

  it('a hanging upstream: each attempt times out, then nack upstream_timeout (retryable)', async () => {
    const { upstream, ask, outcomes } = await gateway();
    upstream.behaviour = { kind: 'hang' };
    expect(nackOf(await ask('x'))).toEqual({
      t: 'nack',
      code: 'upstream_timeout',
      retryable: true,
    });
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'timeout', attempts: 2 })]);
  });
});

describe('the upstream breaker', () => {
  it('opens on failures, fails fast while open, probes half-open and closes on recovery', async () => {
    const { upstream, ask, upstreamBreaker } = await gateway();
    expect(await upstreamBreaker()).toEqual(expect.objectContaining({ state: 'closed' }));

    upstream.behaviour = { kind: 'status', status: 500 };
    // Two failed attempts, then the third failure opens the breaker before the retry.
    expect(nackOf(await ask('a'))).toEqual({ t: 'nack', code: 'upstream_failed', retryable: true });
    expect(nackOf(await ask('b'))).toEqual({ t: 'nack', code: 'breaker_open', retryable: true });
    expect(await upstreamBreaker()).toEqual(
      expect.objectContaining({ name: 'upstream', state: 'open', consecutiveFailures: 3 }),
    );
    // The admin API's times are ISO 8601 (docs/protocol.md §12): when it probes, and the change.
    const open = (await upstreamBreaker()) as unknown as {
      openUntil: string;
      lastChange: { at: string; to: string };
    };
    expect(Date.parse(open.openUntil) - Date.parse(open.lastChange.at)).toBe(OPEN_MS);
    expect(open.lastChange).toMatchObject({
      to: 'open',
      at: new Date(open.lastChange.at).toISOString(),
    });

    // While open, calls stop: the upstream hears nothing.
    const heard = upstream.received.length;
    for (let i = 0; i < 3; i++)
      expect(nackOf(await ask(`open ${i}`))).toEqual({
        t: 'nack',
        code: 'breaker_open',
        retryable: true,
      });
    expect(upstream.received).toHaveLength(heard);

    // The upstream recovers; after the open duration the next calls probe and close it.
    upstream.behaviour = { kind: 'echo' };
    await sleep(OPEN_MS + 50);
    expect(await ask('probe 1')).toEqual(
      expect.objectContaining({ t: 'ok', data: { echo: 'probe 1' } }),
    );
    expect(await upstreamBreaker()).toEqual(expect.objectContaining({ state: 'half_open' }));
    expect(await ask('probe 2')).toEqual(
      expect.objectContaining({ t: 'ok', data: { echo: 'probe 2' } }),
    );
    expect(await upstreamBreaker()).toEqual(
      expect.objectContaining({
        state: 'closed',
        lastChange: expect.objectContaining({ from: 'half_open', to: 'closed' }) as unknown,
      }),
    );
  });

  it('a failed half-open probe opens it again', async () => {
    const { upstream, ask, upstreamBreaker } = await gateway({ upstreamRetries: 0 });
    upstream.behaviour = { kind: 'hang' };
    for (let i = 0; i < 3; i++) await ask(`t${i}`);
    expect((await upstreamBreaker())?.state).toBe('open');
    await sleep(OPEN_MS + 50);
    expect(nackOf(await ask('probe'))).toEqual({
      t: 'nack',
      code: 'upstream_timeout',
      retryable: true,
    });
    expect(await upstreamBreaker()).toEqual(
      expect.objectContaining({
        state: 'open',
        lastChange: expect.objectContaining({
          from: 'half_open',
          reason: 'probe_failed',
        }) as unknown,
      }),
    );
  });
});

describe('effectively-once with retries', () => {
  it('the SDK retries a retryable nack with the same id; the upstream succeeds exactly once', async () => {
    const { upstream, info } = await gateway();
    const sdk = new ResilientClient(info.url, { backoff: { baseMs: 20, capMs: 50 } });
    sdk.connect();
    try {
      // Two failures: the first attempt and the server's retry fail (nack upstream_failed);
      // the SDK's retry succeeds.
      upstream.behaviour = { kind: 'flaky', failures: 2, status: 503 };
      expect(await sdk.send({ pay: 10 })).toEqual({ echo: { pay: 10 } });
      const ids = new Set(upstream.received.map((r) => r.body.id));
      expect(ids.size).toBe(1);
      const [id] = ids;
      expect(upstream.received.map((r) => r.answered)).toEqual(['503', '503', '200']);
      expect(upstream.successesFor(id!)).toBe(1);
    } finally {
      await sdk.close();
    }
  });

  it('a hung upstream that recovers: the retried message is handled once', async () => {
    const { upstream, info } = await gateway();
    const sdk = new ResilientClient(info.url, { backoff: { baseMs: 20, capMs: 50 } });
    sdk.connect();
    try {
      upstream.behaviour = { kind: 'flaky', failures: 2, status: 'hang' };
      expect(await sdk.send('late but once')).toEqual({ echo: 'late but once' });
      const id = upstream.received[0]!.body.id;
      expect(upstream.received.every((r) => r.body.id === id)).toBe(true);
      expect(upstream.successesFor(id)).toBe(1);
    } finally {
      await sdk.close();
    }
  });

  it('a repeat of an answered id is ok dup:true without calling the upstream again', async () => {
    const { upstream, ask } = await gateway();
    expect(await ask({ n: 1 }, 'same-id')).toEqual({
      t: 'ok',
      id: 'same-id',
      data: { echo: { n: 1 } },
    });
    expect(await ask({ n: 1 }, 'same-id')).toEqual({
      t: 'ok',
      id: 'same-id',
      dup: true,
      data: { echo: { n: 1 } },
    });
    expect(upstream.received).toHaveLength(1);
  });

  it('after a retryable nack the same id reaches the upstream again and succeeds once', async () => {
    const { upstream, ask } = await gateway();
    upstream.behaviour = { kind: 'status', status: 500 };
    expect(nackOf(await ask('charge', 'pay-1'))).toEqual({
      t: 'nack',
      code: 'upstream_failed',
      retryable: true,
    });
    upstream.behaviour = { kind: 'echo' };
    expect(await ask('charge', 'pay-1')).toEqual({
      t: 'ok',
      id: 'pay-1',
      data: { echo: 'charge' },
    });
    expect(await ask('charge', 'pay-1')).toEqual(expect.objectContaining({ t: 'ok', dup: true }));
    expect(upstream.successesFor('pay-1')).toBe(1);
  });
});
