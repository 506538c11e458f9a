/**
 * Regressions: bugs a fresh-eyes review found in the breaker (each test failed before its fix).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { Backoff } from './backoff.js';
import { BreakerRegistry } from './breaker-registry.js';
import { CircuitBreaker, type StateChange } from './circuit-breaker.js';

describe('circuit breaker regressions (found in review)', () => {
  it('a count window smaller than minCalls still lets the failure-rate rule open (resilience4j caps minCalls at the window size)', () => {
    // resilience4j CircuitBreakerMetrics: COUNT_BASED => minimumNumberOfCalls = min(minCalls, size).
    // Here the default minCalls (20) can never be reached by a 10-call window: the rule is dead.
    const clock = new ManualClock();
    const changes: StateChange[] = [];
    const b = new CircuitBreaker('store', {
      clock,
      failureThreshold: 0, // consecutive rule off: only the rate rule can open
      window: { kind: 'count', size: 10 },
    });
    b.on('stateChange', (c) => changes.push(c));
    for (let i = 0; i < 30 && b.tryAcquire(); i++) b.onFailure(0);
    expect(b.snapshot().failureRate).toBe(100);
    expect(b.state).toBe('open');
    expect(changes.map((c) => c.reason)).toEqual(['failure_rate']);
  });

  it('breakers of one registry do not share the open backoff given in its defaults', () => {
    const clock = new ManualClock();
    const registry = new BreakerRegistry({
      clock,
      failureThreshold: 1,
      openMs: new Backoff({ baseMs: 1000, capMs: 64_000, jitter: 'none' }),
    });
    const a = registry.get('upstream');
    const b = registry.get('store');
    expect(a.tryAcquire()).toBe(true);
    a.onFailure(0);
    expect(b.tryAcquire()).toBe(true);
    b.onFailure(0);
    // Each breaker opened for the first time: both should use the base delay.
    expect(a.snapshot().openUntil! - clock.now()).toBe(1000);
    expect(b.snapshot().openUntil! - clock.now()).toBe(1000); // it was 2000: a's open grew b's backoff
  });

  it('execute() with a fn that returns a plain value resolves it and counts the call (no sync TypeError, no leaked permit)', async () => {
    const clock = new ManualClock();
    const b = new CircuitBreaker('store', {
      clock,
      failureThreshold: 1,
      openMs: 1000,
      halfOpenProbes: 1,
      successThreshold: 1,
      window: { kind: 'count', size: 10 },
    });
    const plain = (() => 42) as unknown as () => Promise<number>; // e.g. a JS caller, or a cache hit
    // Closed: today `p.then is not a function` is thrown synchronously and nothing is counted.
    let result: unknown;
    try {
      result = await b.execute(plain);
    } catch (error) {
      result = error;
    }
    expect(result).toBe(42);
    expect(b.snapshot().calls).toBe(1);

    // Half-open: the same call takes the only permit and never gives it back.
    b.tryAcquire();
    b.onFailure(0);
    expect(b.state).toBe('open');
    clock.advance(1000);
    try {
      await b.execute(plain);
    } catch {
      /* today: TypeError */
    }
    expect(b.state).toBe('closed'); // the successful probe closes (successThreshold 1)
  });
});
