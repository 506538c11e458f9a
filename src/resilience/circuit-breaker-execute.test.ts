/** execute(fn): what it admits, counts, returns and rejects with. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { CircuitBreaker, isBrokenCircuitError } from './circuit-breaker.js';

function setup(slowCallMs = 0) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker('store', {
    clock,
    slowCallMs,
    minCalls: 2,
    failureRate: 0,
    window: { kind: 'count', size: 10 },
  });
  return { clock, breaker };
}

describe('CircuitBreaker.execute', () => {
  it('returns the value and counts a success', async () => {
    const { breaker } = setup();
    await expect(breaker.execute(() => Promise.resolve('v'))).resolves.toBe('v');
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 0 });
  });

  it('rethrows the same error and counts a failure', async () => {
    const { breaker } = setup();
    const boom = new Error('boom');
    await expect(breaker.execute(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 1, consecutiveFailures: 1 });
  });

  it('a function that throws instead of rejecting is a failed call and a rejection', async () => {
    const { breaker } = setup();
    const boom = new Error('sync');
    const fn = (): Promise<never> => {
      throw boom;
    };
    await expect(breaker.execute(fn)).rejects.toBe(boom);
    expect(breaker.snapshot().failures).toBe(1);
  });

  it('does not run fn when not admitted', async () => {
    const { breaker } = setup();
    for (let i = 0; i < 5; i++)
      await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => 0);
    expect(breaker.state).toBe('open');
    let ran = false;
    const e: unknown = await breaker
      .execute(() => {
        ran = true;
        return Promise.resolve();
      })
      .catch((error: unknown) => error);
    expect(ran).toBe(false);
    expect(isBrokenCircuitError(e)).toBe(true);
    expect(breaker.snapshot().rejected).toBe(1);
  });

  it('times the call on the clock when the slow-call rule is on', async () => {
    const { clock, breaker } = setup(100);
    const slow = () => {
      clock.advance(150);
      return Promise.resolve(1);
    };
    await breaker.execute(slow);
    await breaker.execute(() => Promise.resolve(2));
    expect(breaker.snapshot()).toMatchObject({ calls: 2, slowCalls: 1 });
    await expect(
      breaker.execute(() => {
        clock.advance(100);
        return Promise.reject(new Error('slow and failed'));
      }),
    ).rejects.toThrow('slow and failed');
    expect(breaker.snapshot()).toMatchObject({ calls: 3, slowCalls: 2, failures: 1 });
  });

  it('probes through execute: two successes close a half-open breaker', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker('b', { clock, openMs: 10 });
    for (let i = 0; i < 5; i++)
      await breaker.execute(() => Promise.reject(new Error('x'))).catch(() => 0);
    clock.advance(10);
    await breaker.execute(() => Promise.resolve());
    expect(breaker.state).toBe('half_open');
    await breaker.execute(() => Promise.resolve());
    expect(breaker.state).toBe('closed');
  });

  it('a snapshot survives JSON (served by GET /api/breakers)', async () => {
    const { breaker } = setup();
    await breaker.execute(() => Promise.resolve());
    breaker.forceOpen();
    const s = breaker.snapshot();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.lastChange).toMatchObject({ from: 'closed', to: 'forced_open' });
  });
});
