import { describe, expect, it } from 'vitest';
import { DedupWindow } from '../../src/store/dedup-window.js';
import { GenerationalDedupWindow } from './generational-dedup-window.js';

interface Internals {
  gens: { ids: unknown[]; slots: Map<string, number> }[];
  held: number;
}
const internals = (w: GenerationalDedupWindow<unknown>): Internals => w as unknown as Internals;
const generations = (w: GenerationalDedupWindow<unknown>): number => internals(w).gens.length;
/** Slots held in every generation, counted from the arrays themselves. */
function slots(w: GenerationalDedupWindow<unknown>): number {
  const { gens, held } = internals(w);
  const counted = gens.reduce((sum, g) => sum + g.ids.length, 0);
  expect(counted).toBe(held);
  return counted;
}
/** Map entries in every generation: at most one per slot. */
const mapEntries = (w: GenerationalDedupWindow<unknown>): number =>
  internals(w).gens.reduce((sum, g) => sum + g.slots.size, 0);

function lcg(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

describe('GenerationalDedupWindow answers as DedupWindow does', () => {
  // The product's window is the reference: the same operations on both, every answer, the
  // size and the ids forgotten (onForget) compared after each one.
  for (const { windowMs, maxIds, ids, back } of [
    { windowMs: 50, maxIds: 40, ids: 60, back: false },
    { windowMs: 200, maxIds: 7, ids: 30, back: false },
    { windowMs: 30, maxIds: 1000, ids: 80, back: false },
    { windowMs: 50, maxIds: 40, ids: 60, back: true },
    { windowMs: 1, maxIds: 1, ids: 3, back: true },
  ]) {
    it(`window ${windowMs} ms, maxIds ${maxIds}, ${ids} ids${back ? ', a clock that steps back' : ''}`, () => {
      const forgotten = { ref: [] as string[], gen: [] as string[] };
      const ref = new DedupWindow<number>(windowMs, maxIds, (id) => forgotten.ref.push(id));
      const gen = new GenerationalDedupWindow<number>(windowMs, maxIds, (id) =>
        forgotten.gen.push(id),
      );
      const rnd = lcg(11 + maxIds);
      let now = 1000;
      for (let step = 0; step < 30_000; step++) {
        now += rnd(4) === 0 ? rnd(3) : 0;
        if (back && rnd(500) === 0) now -= rnd(windowMs * 2);
        const id = `id${rnd(ids)}`;
        const op = rnd(20);
        if (op < 9) {
          ref.set(id, step, now);
          gen.set(id, step, now);
        } else if (op < 11) {
          ref.delete(id);
          gen.delete(id);
        } else if (op < 13) {
          expect(gen.update(id, -step)).toBe(ref.update(id, -step));
        } else {
          expect(gen.get(id, now)).toBe(ref.get(id, now));
        }
        expect(gen.size).toBe(ref.size);
        expect(forgotten.gen.length).toBe(forgotten.ref.length);
      }
      expect(forgotten.gen).toEqual(forgotten.ref);
      expect(forgotten.ref.length).toBeGreaterThan(1000);
    });
  }
});

describe('GenerationalDedupWindow generations', () => {
  it('starts a generation when the newest holds ceil(maxIds / 2) slots', () => {
    const w = new GenerationalDedupWindow<number>(1000, 4);
    w.set('a', 1, 0);
    w.set('b', 2, 1);
    expect(generations(w)).toBe(1);
    w.set('c', 3, 2);
    expect(generations(w)).toBe(2);
    expect([w.get('a', 3), w.get('b', 3), w.get('c', 3)]).toEqual([1, 2, 3]);
  });

  it('starts a generation after a window, and drops the oldest whole once all of it expired', () => {
    const w = new GenerationalDedupWindow<string>(100, 100);
    w.set('a', 'a', 0);
    w.set('b', 'b', 60);
    w.set('c', 'c', 100); // a expired, b not: its generation stays; c starts a new one
    expect(generations(w)).toBe(2);
    expect(w.size).toBe(2);
    expect(slots(w)).toBe(3); // a is forgotten, its slot waits for b
    expect(w.get('a', 100)).toBeUndefined();
    expect(w.get('b', 159)).toBe('b');
    expect(w.get('b', 160)).toBeUndefined(); // b expired: the generation goes whole
    expect(generations(w)).toBe(1);
    expect(slots(w)).toBe(1);
    expect(w.get('c', 199)).toBe('c');
    expect(w.get('c', 200)).toBeUndefined();
    expect(w.size).toBe(0);
    expect(slots(w)).toBe(0);
  });

  it('remembers an id for exactly the window, in a generation whose oldest id has expired', () => {
    const w = new GenerationalDedupWindow<number>(1000, 10);
    w.set('old', 1, 0);
    w.set('new', 2, 500);
    expect(w.get('old', 999)).toBe(1);
    expect(w.get('old', 1000)).toBeUndefined();
    expect(w.get('new', 1000)).toBe(2);
    expect(w.get('new', 1499)).toBe(2);
    expect(w.get('new', 1500)).toBeUndefined();
  });

  it('an id found expired behind a fresher one (a clock that stepped back) is forgotten', () => {
    const forgotten: string[] = [];
    const w = new GenerationalDedupWindow<number>(1000, 10, (id) => forgotten.push(id));
    w.set('new', 1, 5000);
    w.set('old', 2, 100);
    expect(w.get('old', 1100)).toBeUndefined();
    expect(forgotten).toEqual(['old']);
    expect(w.size).toBe(1);
    expect(mapEntries(w)).toBe(1);
    expect(w.get('new', 1100)).toBe(1);
  });

  it('a re-recorded id moves to the back of the newest generation; the cap forgets the oldest', () => {
    const forgotten: string[] = [];
    const w = new GenerationalDedupWindow<number>(1000, 2, (id) => forgotten.push(id));
    w.set('a', 1, 0);
    w.set('b', 2, 10); // a second generation (1 slot each)
    w.set('a', 3, 20); // re-recorded: a third; its first slot is left empty
    expect(w.size).toBe(2);
    w.set('c', 4, 30); // past maxIds: b, the oldest remembered, goes
    expect(forgotten).toEqual(['b']);
    expect(w.get('b', 30)).toBeUndefined();
    expect(w.get('a', 1019)).toBe(3);
    expect(w.get('c', 1019)).toBe(4);
    expect(w.get('a', 1020)).toBeUndefined();
  });

  it('a forgotten id, still in its Map behind the cursor, is a miss and can be recorded again', () => {
    const w = new GenerationalDedupWindow<number>(100, 10);
    w.set('a', 1, 0);
    w.set('b', 2, 50);
    expect(w.get('a', 100)).toBeUndefined(); // forgotten: its slot is behind the cursor
    expect(mapEntries(w)).toBe(2);
    expect(w.update('a', 9)).toBe(false);
    w.set('a', 3, 100); // its old Map entry goes; the new one is in a new generation
    expect(mapEntries(w)).toBe(2);
    expect(w.size).toBe(2);
    expect(w.get('a', 149)).toBe(3);
    expect(w.get('b', 149)).toBe(2);
    expect(w.get('a', 199)).toBe(3);
    expect(w.size).toBe(1);
    expect(w.get('a', 200)).toBeUndefined();
  });

  it('delete forgets an id in any generation at once, without onForget', () => {
    const forgotten: string[] = [];
    const w = new GenerationalDedupWindow<number>(1000, 2, (id) => forgotten.push(id));
    w.set('a', 1, 0);
    w.set('b', 2, 1);
    w.delete('a');
    w.delete('missing');
    expect(w.get('a', 2)).toBeUndefined();
    expect(w.update('a', 5)).toBe(false);
    expect(w.get('b', 2)).toBe(2);
    expect(w.size).toBe(1);
    expect(mapEntries(w)).toBe(1);
    expect(forgotten).toEqual([]);
    const off = new GenerationalDedupWindow<number>(1000, 0);
    off.set('a', 1, 0);
    expect(off.get('a', 0)).toBeUndefined();
  });
});

describe('GenerationalDedupWindow stays bounded', () => {
  const bound = (maxIds: number): number => maxIds + 2 * Math.ceil(maxIds / 2);

  it('in steady state: forgotten ids wait in one generation at most, and 2 or 3 generations', () => {
    const n = 1000;
    const w = new GenerationalDedupWindow<true>(n, 2 * n);
    for (let t = 1; t <= 20 * n; t++) {
      expect(w.get(`id${t}`, t)).toBeUndefined();
      w.set(`id${t}`, true, t);
      expect(w.size).toBe(Math.min(t, n));
      expect(slots(w) - w.size).toBeLessThanOrEqual(n); // one generation: ceil(2n / 2)
      expect(generations(w)).toBeLessThanOrEqual(3);
    }
  });

  it('at the cap: the oldest ids go one by one; slots stay within maxIds + one generation', () => {
    const maxIds = 100;
    const w = new GenerationalDedupWindow<number>(1_000_000, maxIds);
    for (let t = 0; t < 10_000; t++) {
      w.set(`id${t}`, t, t);
      expect(w.size).toBe(Math.min(t + 1, maxIds));
      expect(slots(w)).toBeLessThanOrEqual(maxIds + maxIds / 2);
    }
    expect(w.get('id9900', 10_000)).toBe(9900);
    expect(w.get('id9999', 10_000)).toBe(9999);
    expect(w.get('id9899', 10_000)).toBeUndefined();
  });

  it('ids claimed and released behind a live id are rebuilt away', () => {
    const maxIds = 100;
    const w = new GenerationalDedupWindow<true>(300_000, maxIds);
    w.set('ok-1', true, 0);
    for (let i = 0; i < 20_000; i++) {
      const id = `failing-${i}`;
      expect(w.get(id, 1)).toBeUndefined();
      w.set(id, true, 1);
      w.delete(id);
      expect(slots(w)).toBeLessThanOrEqual(bound(maxIds));
    }
    expect(w.size).toBe(1);
    expect(w.get('ok-1', 1)).toBe(true);
  });

  it('generations emptied by delete but for one id each do not pile up', () => {
    // Fill a generation, delete all of it but one id, again and again: every generation
    // keeps a live id, so none is dropped by the cursor; the rebuild must catch them.
    const maxIds = 50;
    const w = new GenerationalDedupWindow<number>(1_000_000, maxIds);
    const ref = new DedupWindow<number>(1_000_000, maxIds);
    const share = Math.ceil(maxIds / 2);
    let t = 0;
    for (let round = 0; round < 2000; round++) {
      const ids: string[] = [];
      for (let i = 0; i < share; i++) {
        const id = `r${round}-${i}`;
        w.set(id, t, t);
        ref.set(id, t, t++);
        ids.push(id);
      }
      for (const id of ids.slice(1)) {
        w.delete(id);
        ref.delete(id);
      }
      expect(w.size).toBe(ref.size);
      expect(generations(w)).toBeLessThanOrEqual(6);
      expect(slots(w)).toBeLessThanOrEqual(bound(maxIds));
      expect(mapEntries(w)).toBeLessThanOrEqual(slots(w));
    }
    // The cap keeps the last 25 survivors and the newest round's: 26 ids.
    expect(w.size).toBe(share + 1);
    for (const round of [1999, 1975, 1974, 1973, 1000])
      expect(w.get(`r${round}-0`, t)).toBe(ref.get(`r${round}-0`, t));
    expect(w.get('r1974-0', t)).toBe(1974 * share);
    expect(w.get('r1973-0', t)).toBeUndefined();
  });
});
