import { describe, expect, it } from 'vitest';
import { afterWarmup, exactly, flatChecks, median, slope, trend } from './analysis.js';

describe('soak analysis', () => {
  it('fits a least-squares slope', () => {
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2);
    expect(slope([0, 1, 2], [5, 5, 5])).toBe(0);
    expect(slope([1], [1])).toBeNaN();
    expect(slope([2, 2], [1, 3])).toBeNaN();
  });

  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('gives the slope per minute and the growth between the thirds', () => {
    // 1 MB every 10 s: 6 MB per minute, thirds of 3 samples 60 s apart at their medians.
    const samples = Array.from({ length: 9 }, (_, i) => ({ t: i * 10, v: 20 + i }));
    const t = trend(samples, (s) => s.v);
    expect(t.n).toBe(9);
    expect(t.slopePerMin).toBeCloseTo(6);
    expect(t.firstThirdMedian).toBe(21);
    expect(t.lastThirdMedian).toBe(27);
    expect(t.growth).toBe(6);
  });

  it('passes a flat series with one odd sample on the growth, and fails a leak on both', () => {
    const flat = Array.from({ length: 12 }, (_, i) => ({ t: i * 5, v: i === 6 ? 30 : 20 }));
    const leak = Array.from({ length: 12 }, (_, i) => ({ t: i * 5, v: 20 + i }));
    const bound = { slopePerMin: 3, growth: 3 };
    const f = flatChecks(
      'heap',
      'MB',
      trend(flat, (s) => s.v),
      bound,
    );
    expect(f.map((c) => c.pass)).toEqual([true, true]);
    const l = flatChecks(
      'heap',
      'MB',
      trend(leak, (s) => s.v),
      bound,
    );
    expect(l.map((c) => c.pass)).toEqual([false, false]);
    expect(l[0]!.value).toBe('12.00 MB/min');
  });

  it('fails a trend it cannot compute', () => {
    const c = flatChecks(
      'heap',
      'MB',
      trend([], () => 0),
      { slopePerMin: 3, growth: 3 },
    );
    expect(c.every((x) => !x.pass)).toBe(true);
  });

  it('keeps the samples after the warm-up, and checks exact counts', () => {
    expect(afterWarmup([{ t: 1 }, { t: 15 }, { t: 20 }], 15)).toEqual([{ t: 15 }, { t: 20 }]);
    expect(exactly('lost', 0).pass).toBe(true);
    expect(exactly('lost', 1).pass).toBe(false);
    expect(exactly('handler calls', 5, 5).bound).toBe('= 5');
  });
});
