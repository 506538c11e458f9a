import { describe, expect, it } from 'vitest';
import { DedupWindow } from './dedup-window.js';

describe('DedupWindow', () => {
  it('update changes a recorded value in place: same time, same place in the queue', () => {
    const w = new DedupWindow<string>(1000, 2);
    w.set('a', 'pending', 0);
    w.set('b', 'pending', 10);
    expect(w.update('a', 'done')).toBe(true);
    expect(w.update('missing', 'done')).toBe(false);
    expect(w.get('missing', 10)).toBeUndefined();
    expect(w.get('a', 999)).toBe('done');
    // Still the oldest: the next id pushes it out, and it still expires at 0 + 1000.
    w.set('c', 'pending', 20);
    expect(w.get('a', 20)).toBeUndefined();
    expect(w.get('b', 20)).toBe('pending');
    w.update('b', 'done');
    expect(w.get('b', 1009)).toBe('done');
    expect(w.get('b', 1010)).toBeUndefined();
  });

  it('remembers an id for exactly the window', () => {
    const w = new DedupWindow<number>(1000, 10);
    w.set('a', 7, 0);
    expect(w.get('a', 999)).toBe(7);
    expect(w.get('a', 1000)).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it('drops expired ids from the front on every check, so it never grows with time', () => {
    const w = new DedupWindow<true>(100, 1_000_000);
    for (let t = 0; t < 10_000; t++) {
      w.set(`id${t}`, true, t);
      expect(w.get('missing', t)).toBeUndefined();
    }
    expect(w.size).toBe(100);
  });

  it('forgets the oldest id past maxIds', () => {
    const w = new DedupWindow<number>(1000, 2);
    w.set('a', 1, 0);
    w.set('b', 2, 1);
    w.set('c', 3, 2);
    expect(w.size).toBe(2);
    expect(w.get('a', 3)).toBeUndefined();
    expect(w.get('b', 3)).toBe(2);
    expect(w.get('c', 3)).toBe(3);
  });

  it('moves a re-recorded id to the back with its new time', () => {
    const w = new DedupWindow<number>(1000, 2);
    w.set('a', 1, 0);
    w.set('b', 2, 10);
    w.set('a', 3, 20);
    w.set('c', 4, 30);
    expect(w.get('b', 30)).toBeUndefined();
    expect(w.get('a', 1019)).toBe(3);
  });

  it('forgets a deleted id and records nothing when disabled', () => {
    const w = new DedupWindow<number>(1000, 10);
    w.set('a', 1, 0);
    w.delete('a');
    expect(w.get('a', 1)).toBeUndefined();
    const off = new DedupWindow<number>(1000, 0);
    off.set('a', 1, 0);
    expect(off.get('a', 0)).toBeUndefined();
  });

  it('treats an id as expired by its own time even behind a fresher one', () => {
    const w = new DedupWindow<number>(1000, 10);
    w.set('new', 1, 5000);
    w.set('old', 2, 100); // a clock that stepped back
    expect(w.get('old', 1100)).toBeUndefined();
    expect(w.get('new', 1100)).toBe(1);
  });
});

describe('DedupWindow bookkeeping', () => {
  it('stays exact while ids are re-recorded, deleted and expire in any mix', () => {
    // A reference model: id -> time of its latest record, checked after every operation.
    const window = 50;
    const w = new DedupWindow<number>(window, 40);
    const model = new Map<string, { at: number; value: number }>();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let t = 0; t < 20_000; t++) {
      const id = `id${rnd(60)}`;
      const op = rnd(10);
      if (op < 6) {
        w.set(id, t, t);
        for (const [k, e] of model) if (e.at + window <= t) model.delete(k);
        model.delete(id);
        model.set(id, { at: t, value: t });
        while (model.size > 40) model.delete(model.keys().next().value!);
      } else if (op < 7) {
        w.delete(id);
        model.delete(id);
      } else {
        const e = model.get(id);
        const expected = e !== undefined && e.at + window > t ? e.value : undefined;
        expect(w.get(id, t)).toBe(expected);
        // get() drops every expired id first, as set() does; delete() drops only its own.
        for (const [k, m] of model) if (m.at + window <= t) model.delete(k);
      }
      expect(w.size).toBe(model.size);
    }
  });

  it('keeps its queue bounded by the ids it holds', () => {
    const w = new DedupWindow<true>(10, 1_000_000);
    for (let t = 0; t < 100_000; t++) w.set(`id${t}`, true, t);
    expect(w.size).toBe(10);
    const queue = (w as unknown as { queue: unknown[]; head: number }).queue;
    expect(queue.length).toBeLessThan(2100);
  });
});
