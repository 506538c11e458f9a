/**
 * Upstream against a real HTTP server on loopback: answers, rejections, failures, timeouts,
 * retries, the breaker, the in-flight bound and drain, seen through the handler's result or
 * its NackError and the `upstream` events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { CoreEvents } from '../core-events.js';
import { Emitter } from '../events.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { NackError } from '../session/client-messages.js';
import { TestUpstream } from './test-support/test-upstream.js';
import { Upstream, type UpstreamOptions } from './upstream.js';

const upstreams: TestUpstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.stop()));
});

async function setup(
  options: Partial<Omit<UpstreamOptions, 'breaker'>> & { breaker?: CircuitBreaker } = {},
) {
  const server = new TestUpstream();
  upstreams.push(server);
  const url = await server.start();
  const events = new Emitter<CoreEvents>();
  const outcomes: CoreEvents['upstream'][] = [];
  events.on('upstream', (e) => outcomes.push(e));
  const breaker =
    options.breaker ??
    new CircuitBreaker('upstream', { failureThreshold: 3, failureRate: 0, openMs: 60_000 });
  const upstream = new Upstream({
    url,
    // Generous: a cold first fetch on a busy box can take 100+ ms. Timeout tests set their own.
    timeoutMs: 5000,
    retries: 1,
    backoff: { baseMs: 5, capMs: 20 },
    maxInFlight: 10,
    maxResponseBytes: 1024,
    events,
    random: () => 0.5,
    ...options,
    breaker,
  });
  let n = 0;
  const call = (data: unknown = { n }) =>
    upstream.handler({ sid: 's1', id: `m${++n}`, data }) as Promise<unknown>;
  return { server, upstream, outcomes, call, breaker };
}

/** The NackError a call failed with (fails the test if it succeeded). */
async function nackOf(p: Promise<unknown>): Promise<NackError> {
  const error: unknown = await p.then(
    (v) => {
      throw new Error(`expected a nack, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NackError);
  return error as NackError;
}

const brief = (e: NackError) => ({ code: e.code, retryable: e.retryable });

describe('answers', () => {
  it('POSTs {sid, id, data} as JSON and resolves with the parsed response body', async () => {
    const { server, call, outcomes } = await setup();
    expect(await call({ q: 'hi' })).toEqual({ echo: { q: 'hi' } });
    expect(server.received).toEqual([
      {
        method: 'POST',
        contentType: 'application/json',
        body: { sid: 's1', id: 'm1', data: { q: 'hi' } },
        answered: '200',
      },
    ]);
    expect(outcomes).toEqual([
      { outcome: 'ok', status: 200, attempts: 1, durationMs: expect.any(Number) as number },
    ]);
  });

  it('an empty 2xx body is no data; a non-JSON body is its text', async () => {
    const { server, call } = await setup();
    server.behaviour = { kind: 'ok', status: 204 };
    expect(await call()).toBeUndefined();
    server.behaviour = { kind: 'ok', body: 'plain words', contentType: 'text/plain' };
    expect(await call()).toBe('plain words');
  });

  it('a 2xx body over maxResponseBytes is a failure (retried, then upstream_failed)', async () => {
    const { server, call, outcomes } = await setup();
    server.behaviour = { kind: 'ok', body: JSON.stringify('x'.repeat(2000)) };
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'upstream_failed', retryable: true });
    expect(e.message).toMatch(/larger than 1024 bytes/);
    expect(server.received).toHaveLength(2);
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed']);
  });
});

describe('rejections (4xx)', () => {
  it('nacks upstream_rejected, not retryable, with the upstream error message, no retry', async () => {
    const { server, call, outcomes, breaker } = await setup();
    server.behaviour = {
      kind: 'status',
      status: 422,
      body: JSON.stringify({ error: { message: 'amount must be positive' } }),
    };
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'upstream_rejected', retryable: false });
    expect(e.message).toBe('upstream answered 422: amount must be positive');
    expect(server.received).toHaveLength(1);
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'rejected', status: 422 })]);
    // The client's fault, not the upstream's: the breaker counts no failure.
    expect(breaker.snapshot().failures).toBe(0);
  });

  it('truncates a long text error body', async () => {
    const { server, call } = await setup();
    server.behaviour = { kind: 'status', status: 400, body: 'e'.repeat(500) };
    const e = await nackOf(call());
    expect(e.message.length).toBeLessThan(250);
    expect(e.message).toMatch(/^upstream answered 400: e+…$/);
  });

  it('429 and 408 are retryable rejections (come back later), not retried here', async () => {
    const { server, call } = await setup();
    for (const status of [429, 408]) {
      server.behaviour = { kind: 'status', status };
      expect(brief(await nackOf(call()))).toEqual({ code: 'upstream_rejected', retryable: true });
    }
    expect(server.received).toHaveLength(2);
  });
});

describe('failures, retries and timeouts', () => {
  it('retries a 5xx once, then nacks upstream_failed (retryable) with the status', async () => {
    const { server, call, outcomes, breaker } = await setup();
    server.behaviour = { kind: 'status', status: 503, body: 'maintenance' };
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'upstream_failed', retryable: true });
    // The status only: a 5xx body is the upstream's internals, not the client's business.
    expect(e.message).toBe('upstream answered 503');
    expect(server.received.map((r) => r.body.id)).toEqual(['m1', 'm1']);
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'failed', status: 503, attempts: 2 }),
    ]);
    expect(breaker.snapshot().failures).toBe(2);
  });

  it('a retry that succeeds answers ok', async () => {
    const { server, call, outcomes } = await setup();
    server.behaviour = { kind: 'status', status: 500 };
    const p = call('again');
    // Switch to success once the first attempt has been answered.
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 2));
    server.behaviour = { kind: 'echo' };
    expect(await p).toEqual({ echo: 'again' });
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'ok', attempts: 2 })]);
  });

  it('a redirect is a failure, not followed (the body would be re-sent elsewhere or dropped)', async () => {
    const { server, call } = await setup({ retries: 0 });
    server.behaviour = { kind: 'status', status: 307 };
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'upstream_failed', retryable: true });
    expect(e.message).toBe('upstream answered 307');
    expect(server.received).toHaveLength(1);
  });

  it('a dropped connection is a failure', async () => {
    const { server, call } = await setup({ retries: 0 });
    server.behaviour = { kind: 'destroy' };
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'upstream_failed', retryable: true });
    expect(e.message).toMatch(/^upstream unreachable/);
  });

  it('an unreachable upstream is a failure', async () => {
    const gone = new TestUpstream();
    const url = await gone.start();
    await gone.stop();
    const { call } = await setup({ url, retries: 0 });
    expect(brief(await nackOf(call()))).toEqual({ code: 'upstream_failed', retryable: true });
  });

  it('a hung attempt times out, is retried, then nacks upstream_timeout (retryable)', async () => {
    const { server, call, outcomes, breaker } = await setup({ timeoutMs: 100 });
    server.behaviour = { kind: 'hang' };
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'upstream_timeout', retryable: true });
    expect(e.message).toBe('the upstream did not answer within 100 ms');
    expect(server.received.filter((r) => r.answered === 'hang')).toHaveLength(2);
    expect(outcomes.at(-1)).toEqual(
      expect.objectContaining({ outcome: 'timeout', status: undefined, attempts: 2 }),
    );
    expect(breaker.snapshot().failures).toBe(2);
  });

  it('waits a full-jitter backoff between attempts (random() * base * 2^n)', async () => {
    const clock = new ManualClock();
    const { server, call } = await setup({ clock, backoff: { baseMs: 1000, capMs: 8000 } });
    server.behaviour = { kind: 'status', status: 500 };
    const p = call();
    while (server.received.length < 1) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(499); // random 0.5 × 1000 ms: not yet
    await new Promise((r) => setTimeout(r, 20));
    expect(server.received).toHaveLength(1);
    clock.advance(1);
    expect(brief(await nackOf(p))).toEqual({ code: 'upstream_failed', retryable: true });
    expect(server.received).toHaveLength(2);
  });
});

describe('breaker', () => {
  it('opens after consecutive failures and then nacks breaker_open without calling', async () => {
    const { server, call, breaker, outcomes } = await setup({ retries: 0 });
    server.behaviour = { kind: 'status', status: 500 };
    for (let i = 0; i < 3; i++) await nackOf(call());
    expect(breaker.state).toBe('open');
    const e = await nackOf(call());
    expect(brief(e)).toEqual({ code: 'breaker_open', retryable: true });
    expect(server.received).toHaveLength(3);
    expect(outcomes.at(-1)).toEqual(
      expect.objectContaining({ outcome: 'breaker_open', attempts: 0 }),
    );
  });

  it('stops retrying once its own failures open the breaker', async () => {
    const breaker = new CircuitBreaker('upstream', { failureThreshold: 2, failureRate: 0 });
    const { server, call } = await setup({ breaker, retries: 5 });
    server.behaviour = { kind: 'status', status: 500 };
    expect(brief(await nackOf(call()))).toEqual({ code: 'breaker_open', retryable: true });
    expect(server.received).toHaveLength(2);
  });

  it('half-open probes close it again once the upstream recovers', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('upstream', {
      failureThreshold: 1,
      failureRate: 0,
      openMs: 1000,
      successThreshold: 2,
      clock,
    });
    const { server, call } = await setup({ breaker, retries: 0 });
    server.behaviour = { kind: 'status', status: 500 };
    await nackOf(call());
    expect(breaker.state).toBe('open');
    server.behaviour = { kind: 'echo' };
    expect(brief(await nackOf(call()))).toEqual({ code: 'breaker_open', retryable: true });
    clock.advance(1000);
    expect(await call('probe 1')).toEqual({ echo: 'probe 1' });
    expect(breaker.state).toBe('half_open');
    expect(await call('probe 2')).toEqual({ echo: 'probe 2' });
    expect(breaker.state).toBe('closed');
  });
});

describe('bounds and drain', () => {
  it('nacks overloaded (retryable) beyond maxInFlight, without calling', async () => {
    const { server, upstream, call, outcomes } = await setup({ maxInFlight: 2, timeoutMs: 5000 });
    server.behaviour = { kind: 'hang' };
    const hung = [call(), call()];
    expect(upstream.inFlight).toBe(2);
    expect(brief(await nackOf(call()))).toEqual({ code: 'overloaded', retryable: true });
    expect(outcomes).toEqual([expect.objectContaining({ outcome: 'overloaded', attempts: 0 })]);
    await upstream.drain(0);
    for (const p of hung)
      expect(brief(await nackOf(p))).toEqual({ code: 'draining', retryable: true });
    expect(upstream.inFlight).toBe(0);
  });

  it('drain lets in-flight calls finish, then refuses new ones with draining', async () => {
    const { server, upstream, call } = await setup({ timeoutMs: 5000 });
    server.behaviour = { kind: 'hang' };
    const p = call('slow');
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 2));
    const drained = upstream.drain(5000);
    expect(brief(await nackOf(call()))).toEqual({ code: 'draining', retryable: true });
    // The hung request is answered before the deadline: its result still reaches the client.
    const res = server.hangingAnswer(200, JSON.stringify({ late: true }));
    expect(res).toBe(1);
    expect(await p).toEqual({ late: true });
    await drained;
    expect(upstream.inFlight).toBe(0);
  });

  it('drain aborts what is still in flight at the deadline, uncounted by the breaker', async () => {
    const { server, upstream, call, breaker } = await setup({ timeoutMs: 60_000 });
    server.behaviour = { kind: 'hang' };
    const p = call();
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 2));
    await upstream.drain(20);
    expect(brief(await nackOf(p))).toEqual({ code: 'draining', retryable: true });
    expect(breaker.snapshot().calls).toBe(0);
  });

  it('two drains at once both resolve when the last call ends', async () => {
    const { server, upstream, call } = await setup();
    server.behaviour = { kind: 'hang' };
    const p = call();
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 2));
    const first = upstream.drain(5000);
    const second = upstream.drain(5000);
    server.hangingAnswer(200, '"done"');
    expect(await p).toBe('done');
    await Promise.all([first, second]);
    expect(upstream.inFlight).toBe(0);
  });

  it('drain cancels a retry sleep at once', async () => {
    const clock = new ManualClock();
    const { server, upstream, call } = await setup({
      clock,
      backoff: { baseMs: 60_000, capMs: 60_000 },
    });
    server.behaviour = { kind: 'status', status: 500 };
    const p = call();
    while (server.received.length === 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    // The clock never advances: only drain can end the 30 s backoff wait.
    await upstream.drain(1000);
    const e = await nackOf(p);
    expect(brief(e)).toEqual({ code: 'draining', retryable: true });
    expect(e.message).toMatch(/last attempt: upstream answered 500/);
    expect(server.received).toHaveLength(1);
  });
});
