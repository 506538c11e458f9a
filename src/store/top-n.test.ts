import { describe, expect, it } from 'vitest';
import { topN } from './top-n.js';

const greater = (a: number, b: number) => a > b;

describe('topN', () => {
  it('returns the greatest items, best first', () => {
    expect(topN([5, 1, 9, 3, 7, 2, 8], 3, greater)).toEqual([9, 8, 7]);
  });

  it('returns everything sorted when there are fewer items than the limit', () => {
    expect(topN([2, 3, 1], 10, greater)).toEqual([3, 2, 1]);
  });

  it('returns nothing for a limit of 0', () => {
    expect(topN([1, 2], 0, greater)).toEqual([]);
  });

  it('agrees with a full sort on random input', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const xs = Array.from({ length: 5000 }, rand);
    const expected = [...xs].sort((a, b) => b - a).slice(0, 25);
    expect(topN(xs, 25, greater)).toEqual(expected);
  });

  it('works on a generator (a single pass)', () => {
    function* gen() {
      for (let i = 0; i < 100; i++) yield i;
    }
    expect(topN(gen(), 2, greater)).toEqual([99, 98]);
  });
});
