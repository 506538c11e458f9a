import { describe, expect, it } from 'vitest';
import { Backoff, DEFAULT_BACKOFF, fullJitter } from './backoff.js';

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

describe('Backoff', () => {
  it('counts attempts and starts over after reset', () => {
    const clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined };
    const b = new Backoff({ baseMs: 100, capMs: 1000 }, () => 1, clock);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.next()).toBe(100);
  });
});
