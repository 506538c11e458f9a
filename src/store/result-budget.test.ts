import { describe, expect, it } from 'vitest';
import { ResultBudget } from './result-budget.js';

describe('ResultBudget', () => {
  it('keeps results within the budget, forgetting the oldest first', () => {
    const b = new ResultBudget(10);
    b.set('a', '1234');
    b.set('b', '5678');
    expect([b.get('a'), b.get('b')]).toEqual(['1234', '5678']);
    b.set('c', '90ab');
    expect(b.get('a')).toBeUndefined();
    expect([b.get('b'), b.get('c')]).toEqual(['5678', '90ab']);
    expect(b.usedBytes).toBe(8);
    expect(b.evicted).toBe(1);
  });

  it('does not keep a result larger than the whole budget', () => {
    const b = new ResultBudget(3);
    b.set('a', '12');
    b.set('big', '12345');
    expect(b.get('big')).toBeUndefined();
    expect(b.get('a')).toBe('12');
    expect(b.evicted).toBe(1);
  });

  it('replacing or deleting an id returns its characters to the budget', () => {
    const b = new ResultBudget(5);
    b.set('a', '12345');
    b.set('a', '1');
    b.set('b', '1234');
    expect([b.get('a'), b.get('b'), b.usedBytes]).toEqual(['1', '1234', 5]);
    b.delete('b');
    expect(b.usedBytes).toBe(1);
    expect(b.size).toBe(1);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const b = new ResultBudget(4);
    b.set('a', 'éé'); // 4 bytes
    expect(b.usedBytes).toBe(4);
    b.set('b', 'é'); // 2 more bytes: 'a' must go
    expect([b.get('a'), b.get('b'), b.usedBytes]).toEqual([undefined, 'é', 2]);
  });

  it('a zero budget keeps nothing', () => {
    const b = new ResultBudget(0);
    b.set('a', 'x');
    expect(b.get('a')).toBeUndefined();
  });
});
