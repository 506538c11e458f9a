/**
 * Every transition of the breaker, on a manual clock. The first case is the original's bug:
 * its breaker opened and never left OPEN.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { isRwsError } from '../errors.js';
import { Backoff } from './backoff.js';
import {
  CircuitBreaker,
  isBrokenCircuitError,
  type BreakerOptions,
  type StateChange,
} from './circuit-breaker.js';

function setup(options: BreakerOptions = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker('upstream', { clock, ...options });
  const changes: StateChange[] = [];
  breaker.on('stateChange', (c) => changes.push(c));
  const reasons = () => changes.map((c) => `${c.from}>${c.to}:${c.reason}`);
  /** One call through the sync API; false if it was rejected. */
  const call = (ok: boolean, ms = 1): boolean => {
    if (!breaker.tryAcquire()) return false;
    if (ok) breaker.onSuccess(ms);
    else breaker.onFailure(ms);
    return true;
  };
  return { clock, breaker, changes, reasons, call };
}

describe('CircuitBreaker: the original failure, fixed', () => {
  it('5 failures open it, time passes, the next call probes, 2 successes close it', () => {
    const { clock, breaker, reasons, call, changes } = setup();
    for (let i = 0; i < 4; i++) call(false);
    expect(breaker.state).toBe('closed');
    call(false);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(clock.pendingTimers).toBe(0); // lazy: no timer moves it
    clock.advance(59_999);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(true); // the probe
    expect(breaker.state).toBe('half_open');
    breaker.onSuccess(5);
    expect(breaker.state).toBe('half_open');
    expect(call(true)).toBe(true);
    expect(breaker.state).toBe('closed');
    expect(reasons()).toEqual([
      'closed>open:consecutive_failures',
      'open>half_open:open_elapsed',
      'half_open>closed:probes_succeeded',
    ]);
    expect(changes.map((c) => c.at - changes[0]!.at)).toEqual([0, 60_000, 60_000]);
    expect(changes.every((c) => c.name === 'upstream')).toBe(true);
    const s = breaker.snapshot();
    expect(s).toMatchObject({ state: 'closed', calls: 0, consecutiveFailures: 0, rejected: 2 });
    expect(s.transitions).toBe(3);
    expect(s.lastChange).toEqual(changes[2]);
  });

  it('a success resets the consecutive count', () => {
    const { breaker, call } = setup({ failureRate: 0 });
    for (let i = 0; i < 20; i++) {
      for (let k = 0; k < 4; k++) call(false);
      call(true);
    }
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
  });
});

describe('CircuitBreaker: failure rate', () => {
  it('opens at 80 % failures with occasional successes, once minCalls is reached', () => {
    const { breaker, reasons, call } = setup();
    for (let i = 0; i < 19; i++) call(i % 5 === 4);
    expect(breaker.state).toBe('closed'); // 15 of 19 failed, but only 19 calls
    call(true);
    expect(breaker.state).toBe('open');
    expect(reasons()).toEqual(['closed>open:failure_rate']);
    expect(breaker.snapshot()).toMatchObject({ calls: 20, failures: 16, failureRate: 80 });
  });

  it('stays closed below the rate', () => {
    const { breaker, call } = setup();
    for (let i = 0; i < 200; i++) call(i % 5 >= 2); // 60 % succeed
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().failureRate).toBe(40);
  });

  it('forgets calls older than the time window, a bucket at a time', () => {
    const { clock, breaker, call } = setup({ failureThreshold: 0 });
    for (let i = 0; i < 19; i++) call(false);
    clock.advance(30_000);
    expect(breaker.snapshot().calls).toBe(0);
    call(false);
    expect(breaker.state).toBe('closed'); // 1 call in the window, not 20
    for (let i = 0; i < 19; i++) call(false);
    expect(breaker.state).toBe('open');
  });

  it('counts over the last N calls with a count window', () => {
    const { breaker, call } = setup({
      failureThreshold: 0,
      minCalls: 10,
      window: { kind: 'count', size: 10 },
    });
    for (let i = 0; i < 100; i++) call(true);
    for (let i = 0; i < 4; i++) call(false);
    expect(breaker.snapshot()).toMatchObject({ calls: 10, failures: 4 });
    call(false);
    expect(breaker.state).toBe('open');
  });

  it('opens on the slow-call rate, and slow calls that fail count as both', () => {
    const { breaker, reasons, call } = setup({ slowCallMs: 100, slowCallRate: 50, minCalls: 4 });
    call(true, 99);
    call(true, 150);
    call(true, 10);
    expect(breaker.state).toBe('closed');
    call(true, 100);
    expect(reasons()).toEqual(['closed>open:slow_call_rate']);
    expect(breaker.snapshot()).toMatchObject({ calls: 4, slowCalls: 2, slowCallRate: 50 });
  });

  it('with both rules off only a manual change opens it', () => {
    const { breaker, call } = setup({ failureThreshold: 0, failureRate: 0 });
    for (let i = 0; i < 100; i++) call(false);
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker: half-open', () => {
  function opened(options: BreakerOptions = {}) {
    const h = setup({ openMs: 1000, ...options });
    for (let i = 0; i < 5; i++) h.call(false);
    h.clock.advance(1000);
    return h;
  }

  it('a failed probe opens it again for the open duration', () => {
    const { clock, breaker, reasons, call } = opened();
    call(true);
    call(false);
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().openUntil).toBe(clock.now() + 1000);
    expect(reasons().slice(1)).toEqual([
      'open>half_open:open_elapsed',
      'half_open>open:probe_failed',
    ]);
  });

  it('admits at most halfOpenProbes calls at once; release gives a permit back', () => {
    const { breaker } = opened();
    expect([1, 2, 3, 4].map(() => breaker.tryAcquire())).toEqual([true, true, true, false]);
    expect(breaker.snapshot()).toMatchObject({ halfOpenInFlight: 3, rejected: 1 });
    breaker.release();
    expect(breaker.snapshot().halfOpenInFlight).toBe(2);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess(1);
    expect(breaker.tryAcquire()).toBe(true); // a report frees its permit too
    breaker.onSuccess(1);
    expect(breaker.state).toBe('closed');
  });

  it('a hung probe does not wedge it: past probeTimeoutMs it counts as failed', () => {
    const { clock, breaker, reasons } = opened({ probeTimeoutMs: 5000, halfOpenProbes: 1 });
    expect(breaker.tryAcquire()).toBe(true); // this probe never reports
    clock.advance(4999);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.state).toBe('half_open');
    clock.advance(1);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.state).toBe('open');
    expect(reasons().at(-1)).toBe('half_open>open:probe_failed');
    clock.advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess(1);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess(1);
    expect(breaker.state).toBe('closed');
  });

  it('reports with no permit outstanding do not decide the probe', () => {
    const { breaker } = opened();
    breaker.onFailure(1); // a call admitted before it opened, answering late
    expect(breaker.state).toBe('open'); // ignored while open
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onSuccess(1);
    breaker.onFailure(1); // no permit left: ignored
    expect(breaker.state).toBe('half_open');
  });

  it('a slow probe counts as a failed one', () => {
    const { breaker, reasons } = opened({ slowCallMs: 100 });
    breaker.tryAcquire();
    breaker.onSuccess(100);
    expect(reasons().at(-1)).toBe('half_open>open:probe_failed');
  });

  it('takes the open duration from a backoff: longer per re-open, reset on close', () => {
    const backoff = new Backoff({ baseMs: 1000, capMs: 4000, jitter: 'none' });
    const { clock, breaker, call } = setup({ openMs: backoff });
    const openFor = () => breaker.snapshot().openUntil! - clock.now();
    for (let i = 0; i < 5; i++) call(false);
    expect(openFor()).toBe(1000);
    for (const expected of [2000, 4000, 4000]) {
      clock.advance(openFor());
      call(false); // the probe fails
      expect(openFor()).toBe(expected);
    }
    clock.advance(openFor());
    call(true);
    call(true);
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 5; i++) call(false);
    expect(openFor()).toBe(1000);
  });
});

describe('CircuitBreaker: forced open, disabled, reset', () => {
  it('forced open rejects every call and never half-opens on its own', () => {
    const { clock, breaker, reasons } = setup();
    breaker.forceOpen();
    clock.advance(10 * 60_000);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.state).toBe('forced_open');
    breaker.reset();
    expect(breaker.tryAcquire()).toBe(true);
    expect(reasons()).toEqual(['closed>forced_open:forced_open', 'forced_open>closed:reset']);
  });

  it('disabled admits every call and counts nothing', () => {
    const { breaker, reasons, call } = setup();
    breaker.disable();
    for (let i = 0; i < 100; i++) expect(call(false)).toBe(true);
    expect(breaker.state).toBe('disabled');
    expect(breaker.snapshot()).toMatchObject({ calls: 0, consecutiveFailures: 0 });
    breaker.forceOpen();
    breaker.disable();
    breaker.reset();
    expect(reasons()).toEqual([
      'closed>disabled:disabled',
      'disabled>forced_open:forced_open',
      'forced_open>disabled:disabled',
      'disabled>closed:reset',
    ]);
  });

  it('reset from open or half-open clears the window and the counters', () => {
    const { breaker, call, reasons } = setup();
    for (let i = 0; i < 5; i++) call(false);
    breaker.reset();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
    for (let i = 0; i < 4; i++) call(false);
    expect(breaker.state).toBe('closed');
    breaker.reset(); // closed to closed: counters cleared, no event
    expect(reasons()).toEqual(['closed>open:consecutive_failures', 'open>closed:reset']);
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
  });

  it('a throwing listener never breaks a transition', () => {
    const { breaker, call } = setup();
    const errors: unknown[] = [];
    const quiet = new CircuitBreaker('q', { clock: new ManualClock() });
    quiet.on('stateChange', () => {
      throw new Error('listener bug');
    });
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      quiet.forceOpen();
    } finally {
      console.error = original;
    }
    expect(quiet.state).toBe('forced_open');
    expect(errors).toHaveLength(1);
    for (let i = 0; i < 5; i++) call(false);
    expect(breaker.state).toBe('open');
  });
});

describe('CircuitBreaker: options', () => {
  it.each([
    [{ failureRate: 101 }, 'failureRate'],
    [{ failureThreshold: 1.5 }, 'failureThreshold'],
    [{ minCalls: 0 }, 'minCalls'],
    [{ halfOpenProbes: 0 }, 'halfOpenProbes'],
    [{ window: { kind: 'count', size: 0 } }, 'window.size'],
    [{ window: { kind: 'time', ms: 5, buckets: 10 } }, 'window.ms'],
    [{ openMs: -1 }, 'openMs'],
    [{ openMs: {} }, 'openMs'],
  ] as [BreakerOptions, string][])('%j is refused naming %s', (options, key) => {
    let error: unknown;
    try {
      new CircuitBreaker('x', options);
    } catch (e) {
      error = e;
    }
    expect(isRwsError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_breaker_option', details: { key } });
  });

  it('rejections are the breaker-open error, frozen and reused', async () => {
    const { breaker } = setup();
    breaker.forceOpen();
    const a = await breaker.execute(() => Promise.resolve(1)).catch((e: unknown) => e);
    const b = await breaker.execute(() => Promise.resolve(1)).catch((e: unknown) => e);
    expect(a).toBe(b);
    expect(isBrokenCircuitError(a)).toBe(true);
    expect(Object.isFrozen(a)).toBe(true);
    expect(a).toMatchObject({ code: 'breaker_open', breaker: 'upstream' });
    expect(isBrokenCircuitError(new Error('breaker_open'))).toBe(false);
  });
});
