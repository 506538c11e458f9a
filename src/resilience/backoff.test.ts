import { describe, expect, it } from 'vitest';
import {
  Backoff,
  DEFAULT_BACKOFF,
  backoffDelay,
  equalJitter,
  fullJitter,
  type TimerClock,
} from './backoff.js';

/** A timer clock that fires only when told to. */
function manualTimers(): TimerClock & { fire(): void; pending(): number } {
  let next = 1;
  const timers = new Map<number, () => void>();
  return {
    setTimeout(fn) {
      const id = next++;
      timers.set(id, fn);
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    fire() {
      const all = [...timers.values()];
      timers.clear();
      for (const fn of all) fn();
    },
    pending: () => timers.size,
  };
}

describe('fullJitter', () => {
  const opts = { baseMs: 500, capMs: 20_000 };

  it('stays within [0, min(cap, base * 2^attempt)] for any random in [0, 1)', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** attempt);
      for (const r of [0, 0.25, 0.5, 0.999999]) {
        const d = fullJitter(attempt, opts, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(d).toBeCloseTo(r * ceiling, 6);
      }
    }
  });

  it('doubles the ceiling per attempt until the cap', () => {
    const top = (n: number) => fullJitter(n, opts, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 20_000]);
    expect(top(1000)).toBe(20_000);
  });

  it('clamps a misbehaving random into range', () => {
    expect(fullJitter(0, opts, () => -3)).toBe(0);
    expect(fullJitter(0, opts, () => 7)).toBe(500);
    expect(fullJitter(0, opts, () => Number.NaN)).toBe(0);
  });

  it('defaults to base 500 ms and cap 20 s', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 500, capMs: 20_000 });
  });
});

describe('equal jitter and no jitter', () => {
  const opts = { baseMs: 1000, capMs: 8000 };

  it('equal jitter never goes below half the ceiling', () => {
    expect(equalJitter(0, opts, () => 0)).toBe(500);
    expect(equalJitter(0, opts, () => 1)).toBe(1000);
    expect(equalJitter(10, opts, () => 0)).toBe(4000);
    expect(equalJitter(10, opts, () => Number.NaN)).toBe(4000);
  });

  it('backoffDelay follows the jitter option, full by default', () => {
    expect(backoffDelay(2, opts, () => 0)).toBe(0);
    expect(backoffDelay(2, { ...opts, jitter: 'equal' }, () => 0)).toBe(2000);
    expect(backoffDelay(2, { ...opts, jitter: 'none' }, () => 0)).toBe(4000);
  });
});

describe('Backoff', () => {
  it('counts attempts and starts over after reset', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => 1, manualTimers());
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('resetAfter resets once the timer fires, and cancelReset stops it', () => {
    const timers = manualTimers();
    const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => 1, timers);
    b.next();
    b.next();
    b.resetAfter(5000);
    b.resetAfter(5000); // re-arming replaces the timer, never stacks them
    expect(timers.pending()).toBe(1);
    b.cancelReset();
    timers.fire();
    expect(b.attempts).toBe(2);
    b.resetAfter(5000);
    timers.fire();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('works without a clock or random (Math.random, global timers)', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000, jitter: 'equal' });
    const d = b.next();
    expect(d).toBeGreaterThanOrEqual(50);
    expect(d).toBeLessThanOrEqual(100);
    b.resetAfter(60_000);
    b.cancelReset();
    expect(b.attempts).toBe(1);
  });
});
