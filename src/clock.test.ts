import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, systemClock } from './clock.js';

describe('ManualClock', () => {
  it('starts at the given time and moves only when advanced', () => {
    const c = new ManualClock(1000);
    expect(c.now()).toBe(1000);
    expect(c.now()).toBe(1000);
    c.advance(250);
    expect(c.now()).toBe(1250);
  });

  it('after() fires once, when due, and not before', () => {
    const c = new ManualClock(0);
    const fn = vi.fn();
    c.after(100, fn);
    c.advance(99);
    expect(fn).not.toHaveBeenCalled();
    c.advance(1);
    expect(fn).toHaveBeenCalledTimes(1);
    c.advance(1000);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(c.pendingTimers).toBe(0);
  });

  it('every() repeats at its interval until cancelled', () => {
    const c = new ManualClock(0);
    const at: number[] = [];
    const h = c.every(100, () => at.push(c.now()));
    c.advance(350);
    expect(at).toEqual([100, 200, 300]);
    c.advance(50);
    expect(at).toEqual([100, 200, 300, 400]);
    h.cancel();
    c.advance(1000);
    expect(at).toHaveLength(4);
    expect(c.pendingTimers).toBe(0);
  });

  it('fires due timers in time order, each seeing its own due time as now()', () => {
    const c = new ManualClock(0);
    const log: string[] = [];
    c.after(300, () => log.push(`a@${c.now()}`));
    c.after(100, () => log.push(`b@${c.now()}`));
    c.every(150, () => log.push(`c@${c.now()}`));
    c.after(50, () => log.push(`d@${c.now()}`));
    c.advance(400);
    expect(log).toEqual(['d@50', 'b@100', 'c@150', 'a@300', 'c@300']);
    expect(c.now()).toBe(400);
  });

  it('a timer added by a callback fires in the same advance when it falls due within it', () => {
    const c = new ManualClock(0);
    const log: number[] = [];
    c.after(100, () => c.after(50, () => log.push(c.now())));
    c.advance(200);
    expect(log).toEqual([150]);
  });

  it('a timer cancelled by an earlier callback does not fire', () => {
    const c = new ManualClock(0);
    const fn = vi.fn();
    const later = c.after(200, fn);
    c.after(100, () => later.cancel());
    c.advance(300);
    expect(fn).not.toHaveBeenCalled();
  });

  it('pendingTimers counts live timers only', () => {
    const c = new ManualClock(0);
    const a = c.every(10, () => {});
    c.after(10, () => {});
    c.after(1000, () => {});
    expect(c.pendingTimers).toBe(3);
    a.cancel();
    expect(c.pendingTimers).toBe(2);
    c.advance(10);
    expect(c.pendingTimers).toBe(1);
  });

  it('after(0) fires on the next advance, even advance(0)', () => {
    const c = new ManualClock(0);
    const fn = vi.fn();
    c.after(0, fn);
    c.advance(0);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('systemClock', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('now() is the wall clock', () => {
    const before = Date.now();
    const t = systemClock.now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('after() and every() use timers that can be cancelled', () => {
    vi.useFakeTimers();
    const once = vi.fn();
    const repeated = vi.fn();
    systemClock.after(100, once);
    const h = systemClock.every(100, repeated);
    vi.advanceTimersByTime(350);
    expect(once).toHaveBeenCalledTimes(1);
    expect(repeated).toHaveBeenCalledTimes(3);
    h.cancel();
    vi.advanceTimersByTime(1000);
    expect(repeated).toHaveBeenCalledTimes(3);
    const cancelled = vi.fn();
    systemClock.after(10, cancelled).cancel();
    vi.advanceTimersByTime(100);
    expect(cancelled).not.toHaveBeenCalled();
  });
});

describe('ManualClock.advance', () => {
  it('refuses to move time backwards', () => {
    const c = new ManualClock(20);
    expect(() => c.advance(-5)).toThrow(RangeError);
    expect(c.now()).toBe(20);
  });
});
