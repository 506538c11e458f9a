import { describe, expect, it } from 'vitest';
import { HistogramChild } from './histogram.js';

/** The obvious definition: the first bound the value is at or below, else +Inf. */
function linearBucket(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]!) i++;
  return i;
}

function bucketOf(child: HistogramChild): number {
  return child.counts.findIndex((c) => c > 0);
}

const LATENCY = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const MIXED = [-100, -1, -0.5, 0, 1e-300, 0.3, 1, 3, 7, 1e6, 1e300];

describe('HistogramChild.observe (exponent-indexed bucket lookup)', () => {
  it.each([
    ['latency bounds', LATENCY],
    ['negative, zero, tiny and huge bounds', MIXED],
    ['one bound', [1]],
    ['dense bounds inside one binade', [1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.9]],
  ])('puts every value in the same bucket as a linear scan: %s', (_name, bounds) => {
    let seed = 7;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const values = [
      ...bounds,
      ...bounds.map((b) => b * (1 + Number.EPSILON)),
      ...bounds.map((b) => b - Math.abs(b) * 1e-9),
      0,
      -0,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Infinity,
      -Infinity,
      Number.MAX_VALUE,
      ...Array.from({ length: 2000 }, () => (rand() - 0.3) * 10 ** (rand() * 12 - 6)),
    ];
    for (const v of values) {
      const child = new HistogramChild(bounds, [], 0);
      child.observe(v);
      expect(bucketOf(child), `value ${v}`).toBe(linearBucket(bounds, v));
    }
  });

  it('ignores NaN and counts and sums the rest', () => {
    const child = new HistogramChild(LATENCY, [], 0);
    child.observe(NaN);
    child.observe(0.003);
    child.observe(20);
    expect(child.count).toBe(2);
    expect(child.sum).toBe(20.003);
    expect(child.counts[3]).toBe(1); // 0.003 ≤ 0.005
    expect(child.counts[LATENCY.length]).toBe(1); // +Inf
  });
});
