import { describe, expect, it } from 'vitest';
import { CountWindow, TimeWindow } from './outcome-window.js';

const totals = (w: { calls: number; failures: number; slow: number }) => [
  w.calls,
  w.failures,
  w.slow,
];

describe('CountWindow', () => {
  it('keeps running totals of the last N outcomes', () => {
    const w = new CountWindow(3);
    w.record(0, true, true);
    w.record(0, false, false);
    expect(totals(w)).toEqual([2, 1, 1]);
    w.record(0, true, false);
    w.record(0, false, false); // evicts the first (failed, slow)
    expect(totals(w)).toEqual([3, 1, 0]);
    for (let i = 0; i < 1000; i++) w.record(0, i % 2 === 0, false);
    expect(totals(w)).toEqual([3, 1, 0]); // last three: 997 no, 998 yes, 999 no
    w.clear();
    expect(totals(w)).toEqual([0, 0, 0]);
    w.record(0, true, false);
    expect(totals(w)).toEqual([1, 1, 0]);
  });
});

describe('TimeWindow', () => {
  it('evicts whole buckets as time passes', () => {
    const w = new TimeWindow(1000, 10); // 100 ms buckets
    w.record(0, true, false);
    w.record(50, false, true);
    w.record(150, true, false);
    expect(totals(w)).toEqual([3, 2, 1]);
    w.advance(999);
    expect(totals(w)).toEqual([3, 2, 1]);
    w.advance(1000); // the bucket [0, 100) leaves
    expect(totals(w)).toEqual([1, 1, 0]);
    w.advance(1100);
    expect(totals(w)).toEqual([0, 0, 0]);
  });

  it('a long gap empties it in at most one pass over the buckets', () => {
    const w = new TimeWindow(1000, 10);
    for (let t = 0; t < 1000; t += 10) w.record(t, true, false);
    expect(w.calls).toBe(100);
    w.record(1_000_000_000, false, false);
    expect(totals(w)).toEqual([1, 0, 0]);
  });

  it('a clock that steps back records into the newest bucket', () => {
    const w = new TimeWindow(1000, 10);
    w.record(5000, true, false);
    w.record(4000, true, false);
    expect(totals(w)).toEqual([2, 2, 0]);
    w.advance(6000);
    expect(totals(w)).toEqual([0, 0, 0]);
  });

  it('clear empties it and starts over at the next call', () => {
    const w = new TimeWindow(1000, 4);
    w.record(100, true, true);
    w.clear();
    expect(totals(w)).toEqual([0, 0, 0]);
    w.record(10_000, false, false);
    w.advance(10_100);
    expect(totals(w)).toEqual([1, 0, 0]);
  });
});
