import { describe, expect, it } from 'vitest';
import { ExpiryWheel, type WheelEntry } from './expiry-wheel.js';

interface Item extends WheelEntry {
  name: string;
}
const item = (name: string): Item => ({ name, wheelBucket: undefined });
const names = (items: Item[]) => items.map((i) => i.name);

describe('ExpiryWheel', () => {
  it('returns an entry once its bucket has started, and only once', () => {
    const wheel = new ExpiryWheel<Item>(100);
    const a = item('a');
    wheel.schedule(a, 1050);
    expect(wheel.due(999)).toEqual([]);
    expect(names(wheel.due(1000))).toEqual(['a']);
    expect(wheel.due(5000)).toEqual([]);
    expect(a.wheelBucket).toBeUndefined();
    expect(wheel.size).toBe(0);
  });

  it('keeps the earlier of two registrations', () => {
    const wheel = new ExpiryWheel<Item>(100);
    const a = item('a');
    wheel.schedule(a, 5000);
    wheel.schedule(a, 9000);
    expect(names(wheel.due(5000))).toEqual(['a']);
    wheel.schedule(a, 9000);
    wheel.schedule(a, 6000);
    expect(wheel.size).toBe(1);
    expect(names(wheel.due(6000))).toEqual(['a']);
    expect(wheel.due(9000)).toEqual([]);
  });

  it('puts a deadline already passed into the next sweep', () => {
    const wheel = new ExpiryWheel<Item>(100);
    wheel.due(10_000);
    wheel.schedule(item('late'), 500);
    expect(names(wheel.due(10_000))).toEqual(['late']);
  });

  it('forgets an unscheduled entry', () => {
    const wheel = new ExpiryWheel<Item>(100);
    const a = item('a');
    wheel.schedule(a, 100);
    wheel.unschedule(a);
    wheel.unschedule(a);
    expect(wheel.size).toBe(0);
    expect(wheel.due(1000)).toEqual([]);
  });

  it('returns entries in deadline order, by walking buckets or by scanning after a pause', () => {
    const wheel = new ExpiryWheel<Item>(100);
    wheel.due(0);
    wheel.schedule(item('c'), 900);
    wheel.schedule(item('a'), 100);
    wheel.schedule(item('b'), 500);
    expect(names(wheel.due(1000))).toEqual(['a', 'b', 'c']);
    wheel.schedule(item('z'), 1e9);
    wheel.schedule(item('y'), 5e8);
    expect(names(wheel.due(2e9))).toEqual(['y', 'z']);
  });
});
